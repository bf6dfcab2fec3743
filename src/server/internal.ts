/**
 * The state behind a running server, for this package's own tests, benchmarks
 * and testing toolkit: not part of the public API (no package export points
 * here), so the store can change without a major version.
 */
import type { ServerCore } from "./core.js";

// Keyed by the server object startServer() returned (typed as object: server.ts imports this file).
const cores = new WeakMap<object, ServerCore>();

/** Remembers the core of a server startServer() made. */
export function registerServerCore(server: object, core: ServerCore): void {
  cores.set(server, core);
}

/** The core (store, counters, journal) of a server startServer() made. */
export function serverCore(server: object): ServerCore {
  const core = cores.get(server);
  if (!core) throw new TypeError("not a server made by startServer()");
  return core;
}
