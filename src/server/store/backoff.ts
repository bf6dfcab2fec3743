import type { BackoffStrategy, RetryPolicy } from "../../model/job.js";

/** The spec's defaults for a retry policy (RET §2.1), merged field by field under what the producer sent. */
export const DEFAULT_RETRY: Required<Omit<RetryPolicy, "backoffStrategy">> = {
  maxAttempts: 3,
  initialInterval: 1000,
  backoffCoefficient: 2,
  maxInterval: 300_000,
  jitter: true,
  nonRetryableErrors: [],
  onExhaustion: "discard",
};

export type EffectiveRetry = Required<Omit<RetryPolicy, "backoffStrategy">> & { backoffStrategy: BackoffStrategy | undefined };

export function mergeRetry(p: RetryPolicy | undefined): EffectiveRetry {
  return { ...DEFAULT_RETRY, backoffStrategy: undefined, ...(p ?? {}) };
}

/**
 * RET §3: the strategy is inferred from the coefficient unless the extension
 * field names it, because a coefficient of exactly 1 is the spec's constant backoff.
 */
export function strategyOf(p: Pick<EffectiveRetry, "backoffStrategy" | "backoffCoefficient">): BackoffStrategy {
  if (p.backoffStrategy) return p.backoffStrategy;
  return p.backoffCoefficient === 1 ? "constant" : "exponential";
}

/** Delay before retry number n (n = 1 is the first retry) before the cap and jitter. */
export function rawDelayMs(p: EffectiveRetry, n: number): number {
  const retry = Math.max(1, n);
  switch (strategyOf(p)) {
    case "constant":
      return p.initialInterval;
    case "linear":
      return p.initialInterval * retry;
    case "polynomial":
      return p.initialInterval * Math.pow(retry, p.backoffCoefficient);
    case "exponential":
      return p.initialInterval * Math.pow(p.backoffCoefficient, retry - 1);
  }
}

/**
 * RET §3.5 and §5: the cap applies before jitter, and jitter multiplies by a
 * uniform factor in [0.5, 1.5), so a jittered delay may exceed max_interval by
 * up to half of it. `random` must return values in [0, 1).
 */
export function retryDelayMs(p: EffectiveRetry, n: number, random: () => number = Math.random): number {
  let d = Math.min(rawDelayMs(p, n), p.maxInterval);
  if (!Number.isFinite(d)) d = p.maxInterval;
  if (p.jitter) d *= 0.5 + random();
  // Floor, not round: a jittered delay stays below 1.5x (the interval is half-open).
  return Math.max(0, Math.floor(d));
}

/**
 * RET §6.2: exact match, or prefix match for entries ending in ".*" ("auth.*"
 * matches "auth.expired", not "auth" and not "external.auth.x").
 */
export function isNonRetryable(code: string, list: readonly string[]): boolean {
  for (const pattern of list) {
    if (pattern === code) return true;
    if (pattern.endsWith(".*") && code.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}
