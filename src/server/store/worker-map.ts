/**
 * Reads of a server's map of the workers it has heard from, shared by the
 * in-process store and the PostgreSQL store (each keeps workers per process).
 */
import { NotFoundError } from "../../model/errors.js";
import type { WorkerInfo } from "./records.js";

export function workerOf(workers: ReadonlyMap<string, WorkerInfo>, id: string): WorkerInfo {
  const w = workers.get(id);
  if (!w) throw new NotFoundError(`worker ${id} not found`);
  return w;
}

export function removeWorkerFrom(workers: Map<string, WorkerInfo>, id: string): void {
  if (!workers.delete(id)) throw new NotFoundError(`worker ${id} not found`);
}
