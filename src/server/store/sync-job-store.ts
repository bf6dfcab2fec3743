/**
 * The JobStore seam (./job-store.ts) over the in-process state machine
 * (./store.ts): the memory store, and the journal store, whose writes
 * resolve once the journal has them (durable()).
 *
 * Every call runs on the Store at once, when it is made; the promise only
 * reports the outcome. So calls made one after the other without awaiting take
 * effect in that order, and a frame of fast-path calls costs one turn.
 *
 * Records that may still move after the answer (a job made available is
 * claimed by a push consumer in the next microtask) are answered as copies
 * taken at the time of the call: the answer says what the call did, as it did
 * when the adapters called the Store directly.
 */
import type { EventFilter, OjsEvent } from "../../model/events.js";
import type { JobError, NormalizedJobRequest } from "../../model/job.js";
import type { JsonValue } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import type { CheckpointRecord } from "./checkpoints.js";
import type { BatchEnqueued, BatchEntry, ConsumerSpec, JobCheckpoints, JobStore, ProgressUpdate, QueueSettings } from "./job-store.js";
import type { Backpressure, MinuteCounts, StateCounts } from "./queue.js";
import type * as records from "./records.js";
import type { Store } from "./store.js";

/**
 * A job as it is now. One copy site for single and batched answers alike: V8 gives a spread's copy
 * the object shape that site first made, and the encoder (sharedWithEntry, writeJobBody), optimized
 * on single enqueues' copies, deopted at a process's first batch on copies of another shape.
 */
function snapshotJob(job: records.JobRecord["job"]): records.JobRecord["job"] {
  return { ...job };
}

/** The record as it is now: later changes to the live record do not show in it. */
export function snapshotRecord(rec: records.JobRecord): records.JobRecord {
  return { ...rec, job: snapshotJob(rec.job) };
}

/** A batch's answer for one job: its Job as it is now, and the entry's extra. */
function snapshotEnqueued(rec: records.JobRecord): BatchEnqueued {
  return { job: snapshotJob(rec.job), extra: rec.extra };
}

function settle<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

export interface SyncJobStoreOptions {
  /** "memory" or "journal": what the manifest and health report. */
  kind: string;
  /** When the changes made so far are durable; undefined when there is nothing to wait for. */
  durable?: () => Promise<void> | undefined;
  /** Releases what the store holds beyond the state machine (the journal file). */
  close?: () => Promise<void>;
}

/** Shared by every fetch that finds no checkpoint (the usual case): no map per fetch. */
const NO_CHECKPOINTS: ReadonlyMap<string, CheckpointRecord> = new Map();

export class SyncJobStore implements JobStore {
  readonly kind: string;
  readonly checkpoints: JobCheckpoints;
  private readonly whenDurable: () => Promise<void> | undefined;
  private readonly closer: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: Store,
    opts: SyncJobStoreOptions,
  ) {
    this.kind = opts.kind;
    this.whenDurable = opts.durable ?? (() => undefined);
    this.closer = opts.close;
    const cps = store.checkpoints;
    this.checkpoints = {
      save: (jobId, state) => this.write(() => cps.save(jobId, state)),
      get: (jobId) => settle(() => cps.get(jobId)),
      delete: (jobId) => this.write(() => cps.delete(jobId)),
      of: (jobIds) => {
        if (cps.size === 0) return Promise.resolve(NO_CHECKPOINTS);
        const out = new Map<string, CheckpointRecord>();
        for (const id of jobIds) {
          const c = cps.peek(id);
          if (c) out.set(id, c);
        }
        return Promise.resolve(out);
      },
    };
  }

  /** A mutation: applied now, answered once durable. */
  private write<T>(run: () => T): Promise<T> {
    let out: T;
    try {
      out = run();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const barrier = this.whenDurable();
    return barrier ? barrier.then(() => out) : Promise.resolve(out);
  }

  // --- reads ------------------------------------------------------------------

  get(id: string): Promise<records.JobRecord> {
    return settle(() => this.store.get(id));
  }
  has(id: string): Promise<boolean> {
    return settle(() => this.store.has(id));
  }
  jobRecords(): Promise<Iterable<records.JobRecord>> {
    return settle(() => this.store.jobRecords());
  }
  listQueues(): Promise<records.QueueSummary[]> {
    return settle(() => this.store.listQueues());
  }
  queueSummary(name: string): Promise<records.QueueSummary> {
    return settle(() => this.store.queueSummary(name));
  }
  queueHistory(name: string): Promise<MinuteCounts[]> {
    return settle(() => this.store.queueHistory(name));
  }
  pressure(name: string): Promise<{ depth: number; backpressure: Backpressure } | undefined> {
    return settle(() => this.store.pressure(name));
  }
  queueSettings(name: string): Promise<QueueSettings | undefined> {
    return settle(() => this.store.queueConfig(name));
  }
  countByState(queue?: string): Promise<StateCounts> {
    return settle(() => this.store.countByState(queue));
  }
  listDeadLetter(opts?: { queue?: string; offset?: number; limit?: number }): Promise<{ jobs: records.JobRecord[]; total: number }> {
    return settle(() => this.store.listDeadLetter(opts));
  }
  deadLetterCount(queue?: string): Promise<number> {
    return settle(() => this.store.deadLetterCount(queue));
  }
  getWorker(workerId: string): Promise<records.WorkerInfo> {
    return settle(() => this.store.getWorker(workerId));
  }
  listWorkers(): Promise<records.WorkerInfo[]> {
    return settle(() => this.store.listWorkers());
  }
  recentEvents(filter: EventFilter, limit: number): Promise<OjsEvent[]> {
    return settle(() => this.store.recentEvents(filter, limit));
  }

  // --- writes -----------------------------------------------------------------

  submit(req: NormalizedJobRequest, opts?: records.SubmitOptions): Promise<records.SubmitResult> {
    return this.write(() => this.submitNow(req, opts));
  }
  submitNow(req: NormalizedJobRequest, opts?: records.SubmitOptions): records.SubmitResult {
    const r = this.store.submit(req, opts);
    return { rec: snapshotRecord(r.rec), deduplicated: r.deduplicated };
  }
  enqueueBatch(entries: readonly BatchEntry[]): Promise<BatchEnqueued[]> {
    return this.write(() => this.store.enqueueBatch(entries).map(snapshotEnqueued));
  }

  // Claims: a claim lost in a crash only means the job is offered again, so they do not wait for the disk.
  fetch(req: records.FetchRequest): Promise<records.JobRecord[]> {
    return settle(() => this.store.fetch(req));
  }
  openConsumer(spec: ConsumerSpec): Promise<records.Consumer> {
    return settle(() => this.store.openConsumer(spec));
  }
  // A release lost in a crash leaves the job to its lease, as before: it need not wait for the disk.
  closeConsumer(consumer: records.Consumer, opts?: { releaseUnstarted?: boolean }): Promise<number> {
    return settle(() => this.store.closeConsumer(consumer, opts));
  }
  heartbeat(req: records.HeartbeatRequest): Promise<records.HeartbeatOutcome> {
    return settle(() => this.store.heartbeat(req));
  }
  markStarted(jobIds: readonly string[], workerId: string): Promise<string[]> {
    return settle(() => this.store.markStarted(jobIds, workerId));
  }

  release(rec: records.JobRecord): Promise<void> {
    return this.write(() => this.store.release(rec));
  }
  ack(id: string, result: JsonValue | undefined, workerId?: string): Promise<records.JobRecord> {
    return this.write(() => this.store.ack(id, result, workerId));
  }
  nack(id: string, error: JobError, workerId?: string, opts?: records.NackOptions): Promise<records.JobRecord> {
    return this.write(() => snapshotRecord(this.store.nack(id, error, workerId, opts)));
  }
  cancel(id: string): Promise<records.JobRecord> {
    return this.write(() => this.store.cancel(id));
  }
  reportProgress(id: string, update: ProgressUpdate): Promise<records.Progress> {
    return this.write(() => this.store.reportProgress(id, update));
  }

  pauseQueue(name: string): Promise<records.QueueSummary> {
    return this.write(() => this.store.pauseQueue(name));
  }
  resumeQueue(name: string): Promise<records.QueueSummary> {
    return this.write(() => this.store.resumeQueue(name));
  }
  configureQueue(name: string, cfg: records.QueueConfig): Promise<records.QueueSummary> {
    return this.write(() => this.store.configureQueue(name, cfg));
  }

  retryDeadLetter(id: string): Promise<records.JobRecord> {
    return this.write(() => snapshotRecord(this.store.retryDeadLetter(id)));
  }
  deleteDeadLetter(id: string): Promise<void> {
    return this.write(() => this.store.deleteDeadLetter(id));
  }
  retryDiscarded(id: string): Promise<records.JobRecord> {
    return this.write(() => snapshotRecord(this.store.retryDiscarded(id)));
  }
  deleteFinished(id: string): Promise<void> {
    return this.write(() => this.store.deleteFinished(id));
  }

  directWorker(workerId: string, directive: WorkerDirective): Promise<records.WorkerInfo> {
    return settle(() => this.store.directWorker(workerId, directive));
  }
  removeWorker(workerId: string): Promise<void> {
    return settle(() => this.store.removeWorker(workerId));
  }

  durable(): Promise<void> | undefined {
    return this.whenDurable();
  }
  close(): Promise<void> {
    return this.closer ? this.closer() : Promise.resolve();
  }
}
