/**
 * The durable-execution extension (ojs-durable-execution.md): a job's
 * checkpoint, the last state its worker saved, which the next attempt resumes from.
 */
import type { JsonValue } from "./json.js";

/** A job's checkpoint as the server keeps it. */
export interface Checkpoint<S = JsonValue> {
  readonly jobId: string;
  /** What the worker saved (any JSON value). */
  readonly state: S;
  /** 1 for the first save, one more for each save after it (a delete starts again at 1). */
  readonly sequence: number;
  /** When the latest save happened, when the server said. */
  readonly createdAt: Date | undefined;
}

/** What a save answers: the checkpoint's new sequence. */
export interface CheckpointSaved {
  readonly jobId: string;
  readonly sequence: number;
  readonly createdAt: Date | undefined;
}

/** The checkpoint a fetched job carries (§6.1): present only when the job has one. */
export interface JobCheckpoint {
  readonly state: JsonValue;
  readonly sequence: number;
}

/** The largest checkpoint the spec allows (§9.1), measured as JSON: 1 MiB. */
export const MAX_CHECKPOINT_BYTES = 1024 * 1024;
