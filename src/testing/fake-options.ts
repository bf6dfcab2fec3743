/**
 * The options and results of fake mode (FakeClient): what createFakeClient(),
 * drain() and perform() take and give back.
 */
import type { Job } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { WorkflowDefinition } from "../model/workflow.js";
import type { SchemaValidationMode } from "../server/store/schemas.js";
import type { ProgressUpdate } from "../transport/transport.js";
import type { Worker } from "../worker/worker.js";
import type { HandlerMap } from "./executor.js";
import type { PayloadCodec } from "../codec/payload/types.js";

export interface FakeClientOptions {
  /** Runs jobs in drain(), perform() and inline mode with this Worker's handlers and middleware. */
  worker?: Worker;
  /** Or with these handlers (no middleware). */
  handlers?: HandlerMap;
  /**
   * Inline mode: every enqueue runs its job at once and resolves with the
   * finished job; the handler's error rejects the enqueue. No retries, and
   * delays are ignored. Needs `worker` or `handlers` (here or useHandlers()).
   */
  inline?: boolean;
  /** Where virtual time starts; default the wall clock at creation. */
  now?: Date | number | string;
  /** The in-process server's default reservation of a fetched job, in virtual ms; default 30 000. */
  visibilityTimeoutMs?: number;
  /** How enqueued args are checked against registered schemas; default "warn" (as the embedded server). */
  schemaValidation?: SchemaValidationMode;
  /**
   * Randomness for retry jitter, in [0, 1). Default 0.5, which makes jitter a
   * factor of exactly 1: retry delays are exactly what the policy computes.
   */
  random?: () => number;
  /**
   * Payload codecs, as on a Client (docs/encryption.md): enqueued args are
   * encoded, so allEnqueued()/assertEnqueued() see what a server would store;
   * each job is decoded before its handler runs (allPerformed() shows it
   * decoded) and its result encoded before the ack. A Worker given to the fake
   * needs no codecs of its own.
   */
  codecs?: readonly PayloadCodec[];
}

export interface DrainOptions {
  /** Default: the worker or handlers given to createFakeClient(). */
  worker?: Worker;
  handlers?: HandlerMap;
  /** Only these queues; default every queue. Pass `worker.queues` to take only what that worker would. */
  queues?: string[];
  /** Stop after this many attempts; default no limit. */
  maxJobs?: number;
  /**
   * When nothing is available, move virtual time to the next delayed or
   * retrying job and go on, so that retries run as the policy says. Default true.
   */
  withScheduled?: boolean;
  /** Real time allowed for the whole drain, a hanging handler included; default 30 000 ms. */
  timeoutMs?: number;
}

/** How an attempt ended, as the server recorded it. */
export type RunOutcome =
  /** Acknowledged. */
  | "completed"
  /** Failed, with attempts left: scheduled for a retry. */
  | "retryable"
  /** Failed for good: no attempts left, a non-retryable error, or (inline, perform) no retries at all. */
  | "discarded"
  /**
   * The server no longer held the job when the attempt ended (it was
   * cancelled, cleared, or its reservation ran out because the handler moved
   * time past it), as a real worker's settle would fail.
   */
  | "settleFailed";

/** One attempt the fake ran. */
export interface PerformedJob {
  /** The job as the handler received it (state "active"). */
  job: Job;
  attempt: number;
  mode: "drain" | "inline" | "perform";
  outcome: RunOutcome;
  /** What the handler returned, when it completed. */
  result?: JsonValue;
  /** What the attempt failed with: the handler's error (or the abort reason it stopped on), or the injected failure. */
  error?: unknown;
  /** Why the ack or nack was refused, when outcome is "settleFailed". */
  settleError?: unknown;
  /** True when failNext()/failAll() failed this attempt; the handler was not called. */
  injected: boolean;
  /** Every ctx.progress() call, normalised, in order (the fake does not throttle them). */
  progress: ProgressUpdate[];
}

export interface DrainResult {
  /** Attempts run: a job that failed once and then completed counts twice. */
  processed: number;
  completed: number;
  /** Attempts that failed: retried + discarded (+ failed attempts whose settle failed). */
  failed: number;
  /** Failed attempts the policy will retry. */
  retried: number;
  /** Jobs that failed for good (discarded or dead-lettered). */
  discarded: number;
  settleFailed: number;
  /** Jobs still waiting in the drained queues when drain stopped (maxJobs, a paused queue, withScheduled: false). */
  remaining: number;
  /** Every attempt, in the order run. */
  runs: PerformedJob[];
}

export interface WorkflowExpectation {
  kind?: WorkflowDefinition["kind"];
  /** Steps of the workflow as the server holds it (nested steps and batch callbacks included). */
  stepCount?: number;
  /** Exactly this many such workflows; default at least one. */
  count?: number;
}

/** Filters for allEnqueued() and allPerformed(). */
export interface JobFilter {
  type?: string;
  queue?: string;
}
