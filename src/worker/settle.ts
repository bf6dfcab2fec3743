/**
 * Settling: the ack or nack that ends each attempt, retried on transient
 * failures, and the events that report how it went.
 */
import { ConflictError, OjsError, RateLimitedError, ValidationError } from "../model/errors.js";
import type { Transport } from "../transport/transport.js";
import type { Job, JobError } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { NackResult } from "../model/system.js";
import { Backoff, sleep } from "../util/backoff.js";
import { ShutdownError, toJobError } from "./errors.js";
import type { EmitWorkerEvent } from "./events.js";
import type { ActiveJob } from "./slots.js";
import type { HandlerResult } from "./types.js";

/** Errors worth another try: whatever is marked retryable (unreachable, slow, rate limited, server faults). */
export function isTransient(e: unknown): boolean {
  return !(e instanceof OjsError) || e.retryable;
}

export interface SettleOptions {
  /**
   * How long after the first failure transient failures are retried (backoff
   * 100 ms doubling up to 2 s); default 30 000 ms, 0 for a single try. A budget
   * of time rather than of tries: what an ack has to outlast is a server
   * restart, whose length does not depend on how often it is tried.
   */
  retryForMs?: number;
  /** Stops retrying early (the worker is being forced down). */
  signal?: AbortSignal;
}

/**
 * Ack with retries on transient failures. Only the ack is retried: the handler
 * never runs again because an ack failed. Resolves true when the server took
 * it, false when it finally could not (the job then comes back through its
 * visibility timeout and is not reported as failed); rejects never.
 */
export function ackWithRetry(
  transport: Transport,
  jobId: string,
  result: JsonValue | undefined,
  workerId: string,
  opts: SettleOptions = {},
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  return retrying(() => transport.ack(result === undefined ? { jobId, workerId } : { jobId, result, workerId }), opts, ACKED);
}

/**
 * States that prove an earlier try of this very call got through before its
 * answer was lost: a retried ack that finds the job completed succeeded.
 */
const ACKED = new Set(["completed"]);
const NACKED = new Set(["retryable", "discarded", "scheduled", "available"]);

export async function nackWithRetry(
  transport: Transport,
  jobId: string,
  error: JobError,
  workerId: string,
  opts: SettleOptions & { requeue?: boolean } = {},
): Promise<{ ok: true; value: NackResult } | { ok: false; error: unknown }> {
  const req = opts.requeue ? { jobId, error, workerId, requeue: true } : { jobId, error, workerId };
  const r = await retrying(() => transport.nack(req), opts, NACKED);
  if (!r.ok) return r;
  // An earlier try got through: the server has the failure, its answer was lost.
  return { ok: true, value: r.value ?? { state: "retryable" } };
}

type Tried<T> = { ok: true; value: T | undefined } | { ok: false; error: unknown };

/** The answer of every settle whose call resolved with nothing (an ack): one object for all of them. */
const DONE: Tried<never> = Object.freeze({ ok: true, value: undefined });

function succeeded<T>(value: T): Tried<T> {
  return value === undefined ? DONE : { ok: true, value };
}

/**
 * The first try as one then, without an async function around it: nearly every settle succeeds
 * at once, and every job of a worker comes this way. A failure goes on to the retries.
 */
function retrying<T>(fn: () => Promise<T>, opts: SettleOptions, doneStates: ReadonlySet<string>): Promise<Tried<T>> {
  let first: Promise<T>;
  try {
    first = fn();
  } catch (e) {
    first = Promise.reject(e);
  }
  return first.then(succeeded, (e: unknown) => retryAfter(e, fn, opts, doneStates));
}

async function retryAfter<T>(firstError: unknown, fn: () => Promise<T>, opts: SettleOptions, doneStates: ReadonlySet<string>): Promise<Tried<T>> {
  const until = Date.now() + (opts.retryForMs ?? DEFAULT_RETRY_FOR_MS);
  // Made at the first retry: nearly every settle succeeds at once.
  let backoff: Backoff | undefined;
  let e = firstError;
  for (let tries = 1; ; tries++) {
    if (tries > 1) {
      const state = e instanceof ConflictError ? e.details?.state : undefined;
      if (typeof state === "string" && doneStates.has(state)) return { ok: true, value: undefined };
    }
    const left = until - Date.now();
    if (!isTransient(e) || opts.signal?.aborted || left <= 0) return { ok: false, error: e };
    const wait = e instanceof RateLimitedError && e.retryAfterMs !== undefined ? e.retryAfterMs : (backoff ??= new Backoff(100, 2000)).next();
    // The last try comes at the end of the budget, not after it.
    await sleep(Math.min(wait, left), opts.signal);
    if (opts.signal?.aborted) return { ok: false, error: e };
    try {
      return { ok: true, value: await fn() };
    } catch (next) {
      e = next;
    }
  }
}

const DEFAULT_RETRY_FOR_MS = 30_000;

// --- settling one attempt, and reporting how it went -----------------------------------

/** What settling needs from its worker. */
export interface SettleHost {
  readonly transport: Transport;
  readonly workerId: string;
  readonly emit: EmitWorkerEvent;
  /** Aborted when the stop is forced: settle retries end early. */
  readonly hardSignal: AbortSignal;
  /** The worker's settleRetryMs. */
  readonly settleRetryMs: number;
}

/** Nacks a job (with retries on transient errors) and reports the outcome. Never throws. */
export async function failJob(h: SettleHost, a: ActiveJob, error: unknown): Promise<void> {
  const r = await nackWithRetry(h.transport, a.job.id, toJobError(error), h.workerId, { signal: h.hardSignal, retryForMs: h.settleRetryMs });
  if (r.ok) h.emit("job.failed", { job: a.job, error, durationMs: Date.now() - a.startedAt });
  else h.emit("job.settleFailed", { job: a.job, outcome: "nack", error: r.error });
}

/** Acks a job with its (encoded) result and reports the outcome. Never throws. */
export async function completeJob(h: SettleHost, a: ActiveJob, result: HandlerResult, sent: JsonValue | undefined): Promise<void> {
  const { job } = a;
  const r = await ackWithRetry(h.transport, job.id, sent, h.workerId, { signal: h.hardSignal, retryForMs: h.settleRetryMs });
  if (r.ok) h.emit("job.completed", { job, result, durationMs: Date.now() - a.startedAt });
  // The server refused the result itself (over its maxResultBytes, say): the job fails for that
  // reason now, instead of coming back after its visibility timeout to fail the same way again.
  else if (r.error instanceof ValidationError) await failJob(h, a, r.error);
  // An ack that never got through is not a failure of the job: it ran. The server
  // hands it out again after its visibility timeout; that is the only way it reruns.
  else h.emit("job.settleFailed", { job, outcome: "ack", error: r.error });
}

/**
 * Hands a job back so that another worker can take it now rather than after
 * its visibility timeout. A job this worker started fails with "shutdown" (the
 * attempt counts: its handler ran); one it never started (received while
 * stopping, or waiting for a slot) is requeued: available again at once,
 * without using an attempt where the server allows it (NackRequest.requeue),
 * and reported as `job.released`. Reports a nack that did not get through,
 * except a requeue the server refused because the job is no longer this
 * worker's (it took the job back itself). Resolves whether the server took
 * it; never throws.
 */
export async function handBack(h: SettleHost, job: Job, opts: SettleOptions & { started: boolean }): Promise<boolean> {
  const requeue = !opts.started;
  const error = toJobError(new ShutdownError());
  if (requeue) error.message = "the worker stopped before it started the job";
  const r = await nackWithRetry(h.transport, job.id, error, h.workerId, { retryForMs: h.settleRetryMs, ...opts, requeue });
  if (r.ok && requeue) h.emit("job.released", { job, reason: "shutdown" });
  if (!r.ok && !(requeue && r.error instanceof ConflictError)) h.emit("job.settleFailed", { job, outcome: "nack", error: r.error });
  return r.ok;
}
