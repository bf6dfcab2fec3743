/**
 * The state behind a running server, for this package's own tests, benchmarks
 * and testing toolkit: not part of the public API (no package export points
 * here), so the store can change without a major version.
 */
import type { ServerCore } from "./core.js";
import type { OjsServer } from "./server.js";

const cores = new WeakMap<OjsServer, ServerCore>();

/** Remembers the core of a server startServer() made. */
export function registerServerCore(server: OjsServer, core: ServerCore): void {
  cores.set(server, core);
}

/** The core (store, counters, journal) of a server startServer() made. */
export function serverCore(server: OjsServer): ServerCore {
  const core = cores.get(server);
  if (!core) throw new TypeError("not a server made by startServer()");
  return core;
}
