/**
 * The workers this server has heard from, kept in the process (bounded), as
 * the memory store does. Not shared between servers: a directive given
 * through one server reaches a worker at its next heartbeat to that server.
 */
import type { WorkerDirective } from "../../../model/system.js";
import type { JsonObject } from "../../../model/json.js";
import type { WorkerInfo } from "../records.js";
import { WorkerRegistry } from "../worker-registry.js";

export class LocalWorkers extends WorkerRegistry {
  constructor() {
    super(Date.now);
  }

  seen(id: string, state?: string, activeJobIds?: readonly string[]): WorkerInfo {
    const w = this.touch(id);
    if (state !== undefined) w.state = state.toLowerCase();
    if (activeJobIds) w.activeJobIds = [...activeJobIds];
    return w;
  }

  directive(id: string): WorkerDirective {
    const w = this.find(id);
    if (!w) return "running";
    return w.state === "terminate" || w.directive === "terminate" ? "terminate" : w.directive;
  }

  /** Whether fetches of this worker get jobs (not told to stop). */
  mayFetch(id: string | undefined): boolean {
    if (!id) return true;
    const w = this.find(id);
    return !w || (w.directive === "running" && (w.state === "running" || w.state === ""));
  }

  /** Conformance hook (docs/conformance.md): a job whose meta.test_directive is quiet/terminate directs the worker that fetched it. */
  applyTestDirectives(recs: ReadonlyArray<{ job: { meta: JsonObject } }>, workerId: string): void {
    for (const r of recs) {
      const d = r.job.meta["test_directive"];
      if (d === "quiet" || d === "terminate") this.direct(workerId, d);
    }
  }

  direct(id: string, d: WorkerDirective): WorkerInfo {
    const w = this.seen(id);
    w.directive = d;
    return w;
  }
}
