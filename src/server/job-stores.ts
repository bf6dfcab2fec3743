/**
 * The stores a server can keep its jobs in, each as a JobStoreFactory
 * (store/job-store.ts), and the one place startServer() picks one. A new
 * store is one more factory and one more line in selectJobStore().
 */
import type { ServerCore } from "./core.js";
import { Journal, type FsyncMode } from "./store/journal/journal.js";
import type { JobStore, JobStoreFactory } from "./store/job-store.js";
import { SyncJobStore } from "./store/sync-job-store.js";

/** State in memory only: the state machine itself, nothing to wait for. */
export function memoryJobStore(): JobStoreFactory<ServerCore> {
  return (core) => Promise.resolve(new SyncJobStore(core.store, { kind: "memory" }));
}

export interface JournalStoreOptions {
  dir: string;
  fsync?: FsyncMode;
  compactAtBytes?: number;
}

/** The state machine journaled to a directory (store/journal): replayed on open, writes answered once on disk. */
export function journalJobStore(opts: JournalStoreOptions): JobStoreFactory<ServerCore> {
  return async (core) => {
    // Attaching the journal puts the journal store behind the core (core.ts).
    core.journal = await Journal.open(core, opts);
    return core.jobs;
  };
}

/**
 * Several servers on one PostgreSQL database (store/postgres, docs/stores.md).
 * The client is loaded only here, so servers that do not use it never load it.
 */
export function postgresJobStore(url: string): JobStoreFactory<ServerCore> {
  return async (core) => {
    const [{ PostgresJobStore }, { refuseInProcessFeatures }] = await Promise.all([
      import("./store/postgres/postgres-job-store.js"),
      import("./store/postgres/refuse.js"),
    ]);
    const store = await PostgresJobStore.open(url, {
      visibilityTimeoutMs: core.store.defaultVisibilityMs,
      onError: (e) => core.fault(e, "postgres store background work"),
      conformanceHooks: core.conformanceHooks,
    });
    refuseInProcessFeatures(core, store);
    return store;
  };
}

/** Whether a store option names a PostgreSQL database. */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** What startServer() knows of where state lives. */
export interface StoreSelection {
  /** A store URL: "postgres://..." (the only kind so far). */
  storeUrl?: string;
  dataDir?: string;
  fsync?: FsyncMode;
  journalCompactAtBytes?: number;
}

/** The store for these options: the journal with a data directory, else memory. */
export function selectJobStore(opts: StoreSelection): JobStoreFactory<ServerCore> {
  if (opts.storeUrl !== undefined) {
    if (!isPostgresUrl(opts.storeUrl)) throw new TypeError(`store: a postgres:// or postgresql:// URL, not ${JSON.stringify(opts.storeUrl.slice(0, 40))}`);
    if (opts.dataDir !== undefined) throw new TypeError("store and dataDir: choose one (a PostgreSQL store keeps no data directory)");
    return postgresJobStore(opts.storeUrl);
  }
  if (opts.dataDir !== undefined) {
    return journalJobStore({
      dir: opts.dataDir,
      ...(opts.fsync ? { fsync: opts.fsync } : {}),
      ...(opts.journalCompactAtBytes !== undefined ? { compactAtBytes: opts.journalCompactAtBytes } : {}),
    });
  }
  return memoryJobStore();
}

/** Makes the store and puts it behind the core. */
export async function attachJobStore(core: ServerCore, factory: JobStoreFactory<ServerCore>): Promise<JobStore> {
  core.jobs = await factory(core);
  return core.jobs;
}
