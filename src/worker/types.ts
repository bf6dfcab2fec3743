import type { Job } from "../model/job.js";
import type { JsonObject, JsonValue } from "../model/json.js";

/**
 * What a handler receives for one attempt of one job. Pass it on as it is:
 * `signal` and `state` are made only when first read (getters), so a copy made
 * with `{ ...ctx }` does not carry them.
 */
export interface JobContext<Args = JsonValue[], Checkpoint = JsonValue> {
  /** The job as fetched (args unparsed). */
  readonly job: Job;
  readonly jobId: string;
  readonly type: string;
  /** The job's args; with a typed handler, the value its schema produced. */
  readonly args: Args;
  readonly meta: JsonObject;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly queue: string;
  readonly workerId: string;
  /** Results of the workflow steps this job depends on ({} outside workflows). */
  readonly parentResults: JsonObject;
  readonly workflowId: string | undefined;
  /**
   * Aborts when the job is cancelled, when it runs past its timeout, and when the
   * worker's grace period ends during shutdown. `signal.reason` says which.
   */
  readonly signal: AbortSignal;
  /** Per-attempt scratch space shared by middleware and the handler. */
  readonly state: Map<string, unknown>;
  /**
   * Reports progress (0..1 or 0..100, clamped; or any JSON detail). Throttled to one
   * update a second per job, fire-and-forget: it never throws and never fails the job.
   */
  progress(value: number | JsonObject): void;
  /**
   * Saves `state` as this job's checkpoint (durable-execution extension),
   * replacing the last one; resolves once the server has it. A later attempt
   * reads it with lastCheckpoint() and resumes from there. Rejects with a
   * ValidationError for a state that is not JSON, over 1 MiB, or that fails
   * the handler's `checkpoint` schema; with ConflictError once the job is finished.
   */
  checkpoint(state: Checkpoint): Promise<void>;
  /**
   * The last checkpoint saved for this job (by this attempt or an earlier
   * one), undefined when there is none. With a typed handler, parsed by its
   * `checkpoint` schema (a ValidationError when it does not match).
   */
  lastCheckpoint(): Promise<Checkpoint | undefined>;
  /** Extends this job's reservation now (long jobs between regular heartbeats). */
  heartbeat(): Promise<void>;
  /**
   * Aborts this attempt: `signal` fires with `reason`, and if the handler has not
   * returned after the worker's abort grace, the job is failed with that reason
   * (its `code`, e.g. "timeout") while its slot stays taken until the handler ends.
   */
  abort(reason?: unknown): void;
}

/** What a handler returns: the job's result (any JSON value), or nothing. */
export type HandlerResult = JsonValue | undefined | void;

/** A job handler: gets the job's context, returns its result; a throw fails the attempt. */
export type Handler<Args = JsonValue[], Checkpoint = JsonValue> = (ctx: JobContext<Args, Checkpoint>) => HandlerResult | Promise<HandlerResult>;

/**
 * Execution middleware, onion style: the first added is the outermost. Call
 * `next()` once to run the rest of the chain and the handler; its value is the
 * job's result. Throwing fails the job.
 */
export type Middleware = (ctx: JobContext<unknown>, next: () => Promise<HandlerResult>) => Promise<HandlerResult>;
