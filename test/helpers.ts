import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { Client, Worker, type ClientOptions, type WorkerOptions } from "../src/index.js";
import { startServer, type OjsServer, type ServerOptions } from "../src/server/index.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

export const TRANSPORTS = ["grpc", "http"] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/**
 * Where the embedded server keeps state: in memory, in the durable journal (a
 * temporary data dir), or in PostgreSQL (a private cluster per test file, a
 * database per server: test/support/postgres.ts).
 */
export const STORES = ["memory", "journal", "postgres"] as const;
export type StoreName = (typeof STORES)[number];
let fileStore: StoreName = "memory";

/**
 * Runs the servers of the test file that calls it (before it imports a suite)
 * over another store: `useStore("journal"); await import("./client.test.js")`
 * runs the client suite against the journal store, unchanged.
 */
export function useStore(store: StoreName): void {
  fileStore = store;
  // Called at the top of the file, so this hook ends the file: the cluster outlives each describe's
  // servers (a suite with five describes started and initdb'd five clusters, 40 s of a 67 s file).
  if (store === "postgres") afterAll(endOfFilePostgres);
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
  let usedPg = false;
  beforeAll(async () => {
    if (fileStore === "journal" && opts.dataDir === undefined) dataDir = mkdtempSync(join(tmpdir(), "ojs-journal-"));
    const pg = fileStore === "postgres" && opts.store === undefined ? await postgresDatabase() : undefined;
    usedPg = pg !== undefined;
    server = await startServer({ port: 0, ...opts, ...(dataDir ? { dataDir } : {}), ...(pg ? { store: pg } : {}) });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (usedPg) await releasePostgres();
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

let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;
let serversOnCluster = 0;
let fileEnded = false;

/**
 * A fresh database in this file's private cluster, started on first use. A database per server is
 * what keeps tests apart; the cluster is shared by the file's servers and stopped at the file's end.
 */
async function postgresDatabase(): Promise<string> {
  cluster ??= startPostgres();
  serversOnCluster++;
  return (await cluster).createDatabase(`e2e_${++databases}`);
}

async function releasePostgres(): Promise<void> {
  serversOnCluster--;
  if (fileEnded) await stopPostgres();
}

async function endOfFilePostgres(): Promise<void> {
  fileEnded = true;
  await stopPostgres();
}

/** Stops the cluster once the file has ended and its last server is closed, whichever comes last. */
async function stopPostgres(): Promise<void> {
  if (serversOnCluster > 0 || !cluster) return;
  const c = cluster;
  cluster = undefined;
  await (await c).stop();
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
