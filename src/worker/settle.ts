import { ConflictError, OjsError, RateLimitedError } from "../model/errors.js";
import type { Transport } from "../transport/transport.js";
import type { JobError } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { NackResult } from "../model/system.js";
import { Backoff, sleep } from "../util/backoff.js";

/** Errors worth another try: whatever is marked retryable (unreachable, slow, rate limited, server faults). */
export function isTransient(e: unknown): boolean {
  return !(e instanceof OjsError) || e.retryable;
}

export interface SettleOptions {
  /** Attempts before giving up; default 6 (about 6 s of retrying). */
  attempts?: number;
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
  opts: SettleOptions = {},
): Promise<{ ok: true; value: NackResult } | { ok: false; error: unknown }> {
  const r = await retrying(() => transport.nack({ jobId, error, workerId }), opts, NACKED);
  if (!r.ok) return r;
  // An earlier try got through: the server has the failure, its answer was lost.
  return { ok: true, value: r.value ?? { state: "retryable" } };
}

async function retrying<T>(
  fn: () => Promise<T>,
  opts: SettleOptions,
  doneStates: ReadonlySet<string>,
): Promise<{ ok: true; value: T | undefined } | { ok: false; error: unknown }> {
  const attempts = opts.attempts ?? 6;
  // Made at the first retry: nearly every settle succeeds at once.
  let backoff: Backoff | undefined;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      const state = e instanceof ConflictError ? e.details?.state : undefined;
      if (i > 0 && typeof state === "string" && doneStates.has(state)) return { ok: true, value: undefined };
      last = e;
      if (!isTransient(e) || opts.signal?.aborted) break;
      const wait = e instanceof RateLimitedError && e.retryAfterMs !== undefined ? e.retryAfterMs : (backoff ??= new Backoff(100, 2000)).next();
      if (i < attempts - 1) await sleep(wait, opts.signal);
    }
  }
  return { ok: false, error: last };
}
