/**
 * Which store the conformance servers use (`--store memory|journal|postgres`):
 * the memory store by default; with "journal", every case's server gets its
 * own temporary data directory, removed after the case; with "postgres", one
 * private cluster is started for the run (test/support/postgres.ts) and every
 * case's server gets its own database in it. closeStores() stops the cluster.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startPostgres, type PostgresCluster } from "../../test/support/postgres.js";

export type StoreKind = "memory" | "journal" | "postgres";
export const STORE_KINDS: readonly StoreKind[] = ["memory", "journal", "postgres"];

let kind: StoreKind = "memory";

export function useStore(k: StoreKind): void {
  if (!STORE_KINDS.includes(k)) throw new Error(`--store: ${STORE_KINDS.join(" or ")}, not ${String(k)}`);
  kind = k;
}

let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;

/** Server options for one case's store, and how to clean up after it. */
export async function storeForCase(): Promise<{ options: { dataDir?: string; store?: string }; cleanup: () => void }> {
  if (kind === "memory") return { options: {}, cleanup: () => {} };
  if (kind === "postgres") {
    cluster ??= startPostgres();
    // The database stays until the cluster goes at the end of the run.
    return { options: { store: await (await cluster).createDatabase(`case_${++databases}`) }, cleanup: () => {} };
  }
  const dataDir = mkdtempSync(join(tmpdir(), "ojs-conformance-"));
  return { options: { dataDir }, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** Stops what the run started (the PostgreSQL cluster). */
export async function closeStores(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  if (c) await (await c).stop();
}
