/**
 * The stores a conformance run's servers use (`--store memory|journal|postgres`,
 * several at once in npm test): with "journal", every case's server gets its
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

export function parseStoreKind(k: string): StoreKind {
  if (!(STORE_KINDS as readonly string[]).includes(k)) throw new Error(`--store: ${STORE_KINDS.join(" or ")}, not ${k}`);
  return k as StoreKind;
}

let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;

/** Server options for one case's store, and how to clean up after it. */
export async function storeForCase(kind: StoreKind): Promise<{ options: { dataDir?: string; store?: string }; cleanup: () => Promise<void> }> {
  if (kind === "memory") return { options: {}, cleanup: async () => {} };
  if (kind === "postgres") {
    cluster ??= startPostgres();
    const pg = await cluster;
    const name = `case_${++databases}`;
    // Dropped after its case: a run makes some 250 databases of several MB each.
    return { options: { store: await pg.createDatabase(name) }, cleanup: () => pg.dropDatabase(name) };
  }
  const dataDir = mkdtempSync(join(tmpdir(), "ojs-conformance-"));
  return { options: { dataDir }, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** Stops what the run started (the PostgreSQL cluster). */
export async function closeStores(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  if (c) await (await c).stop();
}
