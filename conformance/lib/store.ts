/**
 * Which store the conformance servers use (`--store memory|journal`): the
 * memory store by default; with "journal", every case's server gets its own
 * temporary data directory, removed after the case.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type StoreKind = "memory" | "journal";
export const STORE_KINDS: readonly StoreKind[] = ["memory", "journal"];

let kind: StoreKind = "memory";

export function useStore(k: StoreKind): void {
  if (!STORE_KINDS.includes(k)) throw new Error(`--store: ${STORE_KINDS.join(" or ")}, not ${String(k)}`);
  kind = k;
}

/** Server options for one case's store, and how to clean up after it. */
export function storeForCase(): { options: { dataDir?: string }; cleanup: () => void } {
  if (kind === "memory") return { options: {}, cleanup: () => {} };
  const dataDir = mkdtempSync(join(tmpdir(), "ojs-conformance-"));
  return { options: { dataDir }, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}
