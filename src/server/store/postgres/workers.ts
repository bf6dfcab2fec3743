/**
 * The workers this server has heard from, kept in the process (bounded), as
 * the memory store does. Not shared between servers: a directive given
 * through one server reaches a worker at its next heartbeat to that server.
 */
import { removeWorkerFrom, workerOf } from "../worker-map.js";
import type { WorkerDirective } from "../../../model/system.js";
import type { WorkerInfo } from "../store.js";

const MAX_WORKERS = 10_000;

export class LocalWorkers {
  private readonly workers = new Map<string, WorkerInfo>();

  seen(id: string, state?: string, activeJobIds?: readonly string[]): WorkerInfo {
    const now = Date.now();
    let w = this.workers.get(id);
    if (w) this.workers.delete(id);
    else w = { id, state: "running", directive: "running", firstSeen: now, lastSeen: now, activeJobIds: [] };
    w.lastSeen = now;
    if (state !== undefined) w.state = state.toLowerCase();
    if (activeJobIds) w.activeJobIds = [...activeJobIds];
    // Least recently seen first out: the map's order is insertion order, and a seen worker is re-inserted.
    this.workers.set(id, w);
    if (this.workers.size > MAX_WORKERS) this.workers.delete(this.workers.keys().next().value!);
    return w;
  }

  directive(id: string): WorkerDirective {
    const w = this.workers.get(id);
    if (!w) return "running";
    return w.state === "terminate" || w.directive === "terminate" ? "terminate" : w.directive;
  }

  /** Whether fetches of this worker get jobs (not told to stop). */
  mayFetch(id: string | undefined): boolean {
    if (!id) return true;
    const w = this.workers.get(id);
    return !w || (w.directive === "running" && (w.state === "running" || w.state === ""));
  }

  direct(id: string, d: WorkerDirective): WorkerInfo {
    const w = this.seen(id);
    w.directive = d;
    return w;
  }

  get(id: string): WorkerInfo {
    return workerOf(this.workers, id);
  }

  list(): WorkerInfo[] {
    return [...this.workers.values()];
  }

  remove(id: string): void {
    removeWorkerFrom(this.workers, id);
  }
}
