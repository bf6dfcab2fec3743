/**
 * The Worker's options: what each one means, and how they are checked and
 * defaulted (from the environment where one applies) before anything connects.
 */
import type { ConnectionOptions } from "../transport/connection.js";
import { CodecChain } from "../codec/payload/chain.js";
import type { PayloadCodec } from "../codec/payload/types.js";
import { ValidationError } from "../model/errors.js";
import { queueNameSchema } from "../model/schemas.js";
import { uuidv7 } from "../model/uuid.js";
import { StallPolicy, type StallFallbackOptions } from "./stall-policy.js";

export interface WorkerOptions extends ConnectionOptions {
  /** Queues to take jobs from, highest priority first; default ["default"] (or OJS_QUEUE, comma-separated). */
  queues?: string[];
  /**
   * Most handlers running at once; default 10 (or OJS_CONCURRENCY). A job's slot
   * frees when its handler returns; at most as many acks and nacks are in flight
   * beside them (a handler that returns at that bound keeps its slot until one is answered).
   */
  concurrency?: number;
  /** Unique per process; default a UUIDv7. */
  workerId?: string;
  /** Reservation requested for each job, extended by every heartbeat; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** Default 5 000 ms. */
  heartbeatIntervalMs?: number;
  /** How long stop() waits for running jobs before failing them with "shutdown"; default 25 000 ms. */
  gracePeriodMs?: number;
  /**
   * How long an ack or nack that failed on a transient error (the server
   * unreachable or restarting, a server fault, rate limited) is retried, with
   * backoff up to 2 s, before the worker gives up on it (`job.settleFailed`; the
   * job then comes back after its visibility timeout). Long enough to ride out
   * a server restart; default 30 000 ms, 0 for a single try.
   */
  settleRetryMs?: number;
  /** Longest wait between polls of an empty queue (HTTP, or gRPC without streaming); default 1 000 ms. */
  pollIntervalMs?: number;
  /** "auto" (stream when the transport can, else poll), "stream" or "poll". Default "auto". */
  dispatch?: "auto" | "stream" | "poll";
  /** Stop on SIGTERM/SIGINT (a second signal forces it); default true. */
  handleSignals?: boolean;
  /**
   * With handleSignals: how long after the first signal a worker whose handlers
   * are still running (they ignored their abort signal) ends the process, with
   * exit code 1, after reporting the jobs it abandons ("abandoned" event and a
   * line on stderr). A second signal does the same at once. Default
   * gracePeriodMs + 3 000 ms; 0 never.
   */
  hardDeadlineMs?: number;
  /** How often an idle stream is cross-checked with a unary fetch; default 2 000 ms. */
  watchdogIntervalMs?: number;
  /**
   * After `count` stalls of StreamJobs within `withinMs` (the watchdog found work the
   * stream did not push), poll with Fetch for `pollForMs`, then try the stream again;
   * default 3 within 3 minutes, polling 5 minutes. false keeps streaming regardless.
   */
  stallFallback?: StallFallbackOptions | false;
  /**
   * When polling (HTTP), how long the server may hold an empty fetch waiting for
   * work, so that a job starts as soon as it is enqueued; default 20 000 ms, 0 to
   * turn off. Servers without long polling answer at once and the worker backs off.
   */
  longPollMs?: number;
  /**
   * After a job's signal aborts (its timeout, ctx.abort()), how long its handler
   * may take to stop before the job is failed anyway; default 5 000 ms.
   */
  abortGraceMs?: number;
  /**
   * Payload codecs (docs/encryption.md): encoded args are decoded before
   * middleware and handler see them, and results are encoded before the ack.
   */
  codecs?: readonly PayloadCodec[];
}

/** The timing and dispatch options once checked, every one with its value. */
export type ResolvedWorkerOptions = Required<
  Pick<
    WorkerOptions,
    | "visibilityTimeoutMs"
    | "heartbeatIntervalMs"
    | "settleRetryMs"
    | "gracePeriodMs"
    | "pollIntervalMs"
    | "dispatch"
    | "handleSignals"
    | "watchdogIntervalMs"
    | "abortGraceMs"
    | "longPollMs"
    | "hardDeadlineMs"
  >
>;

export interface WorkerSettings {
  queues: readonly string[];
  concurrency: number;
  workerId: string;
  opts: ResolvedWorkerOptions;
  stallPolicy: StallPolicy | undefined;
  codecs: CodecChain | undefined;
}

/** Checks every option (a bad one: ValidationError naming it) and fills in the defaults. */
export function resolveWorkerSettings(opts: WorkerOptions, env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const queues =
    opts.queues ??
    (env.OJS_QUEUE
      ? env.OJS_QUEUE.split(",")
          .map((q) => q.trim())
          .filter(Boolean)
      : ["default"]);
  if (queues.length === 0) throw new ValidationError("queues: must name at least one queue");
  for (const q of queues) {
    const r = queueNameSchema.safeParse(q);
    if (!r.success) throw new ValidationError(`queues: "${q}" ${r.error.issues[0]?.message ?? "is not a valid queue name"}`);
  }
  const concurrency = opts.concurrency ?? (env.OJS_CONCURRENCY ? Number(env.OJS_CONCURRENCY) : 10);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ValidationError(`concurrency: must be a positive integer, got ${concurrency}`);
  const workerId = opts.workerId ?? uuidv7();
  const resolved: ResolvedWorkerOptions = {
    visibilityTimeoutMs: positive(opts.visibilityTimeoutMs, 30_000, "visibilityTimeoutMs"),
    heartbeatIntervalMs: positive(opts.heartbeatIntervalMs, 5_000, "heartbeatIntervalMs"),
    settleRetryMs: nonNegative(opts.settleRetryMs, 30_000, "settleRetryMs"),
    gracePeriodMs: nonNegative(opts.gracePeriodMs, 25_000, "gracePeriodMs"),
    pollIntervalMs: positive(opts.pollIntervalMs, 1_000, "pollIntervalMs"),
    dispatch: oneOf(opts.dispatch, ["auto", "stream", "poll"] as const, "auto", "dispatch"),
    handleSignals: opts.handleSignals ?? true,
    watchdogIntervalMs: positive(opts.watchdogIntervalMs, 2_000, "watchdogIntervalMs"),
    abortGraceMs: nonNegative(opts.abortGraceMs, 5_000, "abortGraceMs"),
    longPollMs: nonNegative(opts.longPollMs, 20_000, "longPollMs"),
    hardDeadlineMs: 0,
  };
  const stallPolicy = opts.stallFallback === false ? undefined : new StallPolicy(opts.stallFallback);
  const codecs = opts.codecs?.length ? new CodecChain(opts.codecs) : undefined;
  resolved.hardDeadlineMs = nonNegative(opts.hardDeadlineMs, resolved.gracePeriodMs + 3_000, "hardDeadlineMs");
  return { queues, concurrency, workerId, opts: resolved, stallPolicy, codecs };
}

function oneOf<T extends string>(v: T | undefined, allowed: readonly T[], dflt: T, name: string): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v)) throw new ValidationError(`${name}: must be ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(v)}`);
  return v;
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new ValidationError(`${name}: must be a positive number, got ${v}`);
  return v;
}

function nonNegative(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0) throw new ValidationError(`${name}: must be >= 0, got ${v}`);
  return v;
}
