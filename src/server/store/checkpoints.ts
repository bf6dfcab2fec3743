/**
 * The durable-execution extension (ojs-durable-execution.md): one checkpoint
 * per job, the last state a worker saved, with a sequence that counts the saves
 * since the checkpoint was created (a delete starts it again at 1, as the
 * conformance suite's EXT-DUR-019 has it).
 *
 * Lifecycle, and where it parts from the spec's §5.2 (docs/checkpoints.md):
 * a save is refused once the job is finished (409); the last checkpoint of a
 * finished job stays readable until the job itself is forgotten (retention,
 * deleteFinished, clean), because the suite reads it after the job completed
 * (EXT-DUR-020). It is dropped with the job, so it never outlives it.
 */
import { ConflictError } from "../../model/errors.js";
import { TERMINAL_STATES, type JobState } from "../../model/job.js";
import type { JsonValue } from "../../model/json.js";

/** One job's checkpoint as the server keeps it. */
export interface CheckpointRecord {
  jobId: string;
  state: JsonValue;
  /** 1 for the first save, one more for each save after it. */
  sequence: number;
  /** When the latest save happened. */
  createdAt: Date;
}

export interface CheckpointDeps {
  now(): number;
  /** The job's state; throws NotFoundError for an unknown job. */
  jobState(id: string): JobState;
  /** The checkpoint of this job changed or was dropped (the journal writes it down). */
  changed(jobId: string): void;
}

export class Checkpoints {
  private readonly byJob = new Map<string, CheckpointRecord>();

  constructor(private readonly deps: CheckpointDeps) {}

  /** Saves `state` as the job's checkpoint; 409 once the job is finished. The caller checks the size. */
  save(jobId: string, state: JsonValue): CheckpointRecord {
    const s = this.deps.jobState(jobId);
    if (TERMINAL_STATES.has(s))
      throw new ConflictError(`cannot checkpoint job ${jobId}: it is ${s}; checkpoints are saved while a job is unfinished`, { jobId, details: { state: s } });
    const prev = this.byJob.get(jobId);
    const rec: CheckpointRecord = { jobId, state, sequence: (prev?.sequence ?? 0) + 1, createdAt: new Date(this.deps.now()) };
    this.byJob.set(jobId, rec);
    this.deps.changed(jobId);
    return rec;
  }

  /** The job's checkpoint, undefined when it has none (NotFoundError for an unknown job). */
  get(jobId: string): CheckpointRecord | undefined {
    this.deps.jobState(jobId);
    return this.byJob.get(jobId);
  }

  /** Without looking the job up: for the fetch envelope and the journal's writer. */
  peek(jobId: string): CheckpointRecord | undefined {
    return this.byJob.get(jobId);
  }

  /** Deletes the job's checkpoint; true when there was one. Idempotent (NotFoundError for an unknown job). */
  delete(jobId: string): boolean {
    this.deps.jobState(jobId);
    return this.forget(jobId);
  }

  /** The job is gone: its checkpoint goes with it. */
  forget(jobId: string): boolean {
    if (!this.byJob.delete(jobId)) return false;
    this.deps.changed(jobId);
    return true;
  }

  /** Replay: a recorded checkpoint back, as it was. */
  restore(rec: CheckpointRecord): void {
    this.byJob.set(rec.jobId, rec);
  }

  /** Every checkpoint, for the journal's snapshots. */
  records(): IterableIterator<CheckpointRecord> {
    return this.byJob.values();
  }

  get size(): number {
    return this.byJob.size;
  }

  clear(): void {
    this.byJob.clear();
  }
}
