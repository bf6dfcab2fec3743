import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { Client, Worker, type ClientOptions, type WorkerOptions } from "../src/index.js";
import { startServer, type OjsServer, type ServerOptions } from "../src/server/index.js";

export const TRANSPORTS = ["grpc", "http"] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/** Where the embedded server keeps state: in memory, or in the durable journal (a temporary data dir). */
export const STORES = ["memory", "journal"] as const;
export type StoreName = (typeof STORES)[number];
let fileStore: StoreName = "memory";

/**
 * Runs the servers of the test file that calls it (before it imports a suite)
 * over another store: `useStore("journal"); await import("./client.test.js")`
 * runs the client suite against the journal store, unchanged.
 */
export function useStore(store: StoreName): void {
  fileStore = store;
}

/** The store the servers of this test file use. */
export function currentStore(): StoreName {
  return fileStore;
}

let fileServerOptions: ServerOptions = {};

/**
 * Starts the servers of the test file that calls it (before it imports a suite)
 * with these options too: `useServerOptions({ fastPath: false }); await
 * import("./client.test.js")` runs the client suite against a server that
 * offers the standard ojs.v1 methods only, unchanged.
 */
export function useServerOptions(opts: ServerOptions): void {
  fileServerOptions = opts;
}

/** Starts one embedded server for the file, on a free port, and stops it afterwards. */
export function useServer(given: ServerOptions = {}): { readonly server: OjsServer; readonly url: string } {
  const opts = { ...fileServerOptions, ...given };
  let server: OjsServer | undefined;
  let dataDir: string | undefined;
  beforeAll(async () => {
    if (fileStore === "journal" && opts.dataDir === undefined) dataDir = mkdtempSync(join(tmpdir(), "ojs-journal-"));
    server = await startServer({ port: 0, ...opts, ...(dataDir ? { dataDir } : {}) });
  });
  afterAll(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    get server() {
      return server!;
    },
    get url() {
      return server!.url;
    },
  };
}

export function client(url: string, transport: TransportName, opts: Partial<ClientOptions> = {}): Client {
  return new Client({ url, transport, ...opts });
}

export function worker(url: string, transport: TransportName, opts: Partial<WorkerOptions> = {}): Worker {
  return new Worker({ url, transport, handleSignals: false, heartbeatIntervalMs: 1000, ...opts });
}

/** Polls until fn returns a truthy value or the time runs out. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000, everyMs = 10): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

let queueSeq = 0;
/** A queue name no other test uses, so tests in one file never see each other's jobs. */
export function uniqueQueue(prefix = "q"): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${(queueSeq++).toString(36)}`;
}
