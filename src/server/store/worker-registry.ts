/**
 * The workers a server has heard from, kept in the process and bounded: the
 * least recently heard from goes first when it is full. The in-process store
 * and the PostgreSQL store (per server) both keep theirs here.
 */
import { NotFoundError } from "../../model/errors.js";
import { MAX_WORKERS, type WorkerInfo } from "./records.js";

export class WorkerRegistry {
  // Insertion order is recency: a worker heard from is re-inserted, so the first key is the stalest.
  private readonly workers = new Map<string, WorkerInfo>();

  constructor(
    private readonly now: () => number,
    private readonly max = MAX_WORKERS,
  ) {}

  /** The worker's record, made on first sight; `heard` (default) marks it heard from now, an operator's directive does not. */
  touch(id: string, heard = true): WorkerInfo {
    const now = this.now();
    let w = this.workers.get(id);
    if (w) {
      if (heard) {
        this.workers.delete(id);
        this.workers.set(id, w);
        w.lastSeen = now;
      }
      return w;
    }
    if (this.workers.size >= this.max) this.workers.delete(this.workers.keys().next().value!);
    w = { id, state: "running", directive: "running", firstSeen: now, lastSeen: now, activeJobIds: [] };
    this.workers.set(id, w);
    return w;
  }

  find(id: string): WorkerInfo | undefined {
    return this.workers.get(id);
  }

  /** The worker; NotFoundError when this server has not heard from it (or forgot it). */
  get(id: string): WorkerInfo {
    const w = this.workers.get(id);
    if (!w) throw new NotFoundError(`worker ${id} not found`);
    return w;
  }

  list(): WorkerInfo[] {
    return [...this.workers.values()];
  }

  remove(id: string): void {
    if (!this.workers.delete(id)) throw new NotFoundError(`worker ${id} not found`);
  }

  clear(): void {
    this.workers.clear();
  }
}
