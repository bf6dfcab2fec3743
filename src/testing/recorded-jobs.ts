/**
 * The jobs a fake's server created (enqueue, batch, workflow step, cron run, a
 * handler's enqueue), in order, and the scans drain() makes over them.
 */
import { TERMINAL_STATES, type Job, type JobState } from "../model/job.js";
import type { ServerCore } from "../server/core.js";

/** States in which a job still waits to run (drain()'s `remaining`). */
const WAITING: ReadonlySet<JobState> = new Set(["available", "scheduled", "retryable", "pending"]);

/** The ids of the jobs a fake's server created, in order, read through its store. */
export class RecordedJobs {
  private enqueued: string[] = [];
  /** Every recorded job before this index is finished (or gone): drain() starts its scans here. */
  private waitingFrom = 0;

  constructor(private readonly core: ServerCore) {}

  /** Records a job the server created. */
  add(id: string): void {
    this.enqueued.push(id);
  }

  /** Scans from the start again (a finished job came back: a dead-letter retry). */
  rescan(): void {
    this.waitingFrom = 0;
  }

  /** Forgets every recorded job. */
  clear(): void {
    this.enqueued = [];
    this.waitingFrom = 0;
  }

  /** Recorded jobs still held by the server, as copies (tests must not change the server's state by accident). */
  live(): Job[] {
    return [...this.all()].map((j) => structuredClone(j));
  }

  /** The server's own job objects, read only, without copying. */
  *all(): Generator<Readonly<Job>> {
    const store = this.core.store;
    for (const id of this.enqueued) if (store.has(id)) yield store.get(id).job;
  }

  /**
   * The recorded jobs that may still be waiting, from the first unfinished one
   * on: drain() scans them at every step, so finished jobs at the front are
   * skipped for good.
   */
  *unfinished(): Generator<Readonly<Job>> {
    const store = this.core.store;
    store.tick();
    for (let i = this.waitingFrom; i < this.enqueued.length; i++) {
      const id = this.enqueued[i]!;
      const job = store.has(id) ? store.get(id).job : undefined;
      if (i === this.waitingFrom && (!job || TERMINAL_STATES.has(job.state))) {
        this.waitingFrom++;
        continue;
      }
      if (job) yield job;
    }
  }

  /** Queues with an available job, in the order their first available job was enqueued: FIFO across queues. */
  readyQueues(filter: Set<string> | undefined): string[] {
    const out: string[] = [];
    for (const j of this.unfinished()) if (j.state === "available" && (!filter || filter.has(j.queue)) && !out.includes(j.queue)) out.push(j.queue);
    return out;
  }

  /** The earliest instant a delayed or retrying job falls due. */
  nextDue(filter: Set<string> | undefined): number | undefined {
    let next: number | undefined;
    for (const j of this.unfinished()) {
      if ((j.state !== "scheduled" && j.state !== "retryable") || !j.scheduledAt || (filter && !filter.has(j.queue))) continue;
      const at = j.scheduledAt.getTime();
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** How many recorded jobs still wait to run (in the queues of `filter`, when given). */
  waiting(filter: Set<string> | undefined): number {
    let n = 0;
    for (const j of this.unfinished()) if (WAITING.has(j.state) && (!filter || filter.has(j.queue))) n++;
    return n;
  }
}
