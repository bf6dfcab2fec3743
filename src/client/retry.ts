import { OjsError, RateLimitedError } from "../model/errors.js";
import { Backoff, sleep } from "../util/backoff.js";

/** Client-side retries of transient failures (connection, timeout, 5xx, rate limiting). Off unless configured. */
export interface RetryOptions {
  /** Total tries including the first; default 3. */
  maxAttempts?: number;
  /** First backoff; default 100 ms. Doubles per try, with jitter. */
  initialDelayMs?: number;
  /** Longest backoff and longest honoured Retry-After; default 10 000 ms. */
  maxDelayMs?: number;
}

/** What the server (or the error table) marks retryable: unreachable, timed out, rate limited, queue full, server faults. */
export function isTransientError(e: unknown): e is OjsError {
  return e instanceof OjsError && e.retryable;
}

/**
 * Runs fn, retrying transient failures when `opts` is set. Callers pass only
 * operations that are safe to repeat: a retried call must never create a second job.
 */
export function withRetry<T>(opts: RetryOptions | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  // No retries: fn's own promise, not one more async function around it (two turns of the microtask queue per call).
  if (opts) return retrying(opts, signal, fn);
  try {
    return fn();
  } catch (e) {
    // As the async function it replaces: a throw is a rejection.
    return Promise.reject(e);
  }
}

async function retrying<T>(opts: RetryOptions, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const max = Math.max(1, opts.maxAttempts ?? 3);
  const maxDelay = opts.maxDelayMs ?? 10_000;
  const backoff = new Backoff(opts.initialDelayMs ?? 100, maxDelay);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= max || !isTransientError(e) || signal?.aborted) throw e;
      const wait = e instanceof RateLimitedError && e.retryAfterMs !== undefined ? Math.min(e.retryAfterMs, maxDelay) : backoff.next();
      await sleep(wait, signal);
      if (signal?.aborted) throw e;
    }
  }
}
