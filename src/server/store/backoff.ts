import type { RetryPolicy } from "../../model/job.js";

/** The spec's defaults for a retry policy, merged field by field under what the producer sent. */
export const DEFAULT_RETRY: Required<RetryPolicy> = {
  maxAttempts: 3,
  initialInterval: 1000,
  backoffCoefficient: 2,
  maxInterval: 300_000,
  jitter: true,
  nonRetryableErrors: [],
  onExhaustion: "discard",
};

export function mergeRetry(p: RetryPolicy | undefined): Required<RetryPolicy> {
  return { ...DEFAULT_RETRY, ...(p ?? {}) };
}

/**
 * Delay before retry number n (n = 1 is the first retry): initial * coefficient^(n-1),
 * capped at maxInterval, then with jitter a factor in [0.5, 1.5), capped again.
 */
export function retryDelayMs(p: Required<RetryPolicy>, n: number, random: () => number = Math.random): number {
  const raw = p.initialInterval * Math.pow(p.backoffCoefficient, Math.max(0, n - 1));
  let d = Math.min(raw, p.maxInterval);
  if (p.jitter) d = Math.min(d * (0.5 + random()), p.maxInterval);
  return Math.max(0, Math.round(d));
}

/** Exact match, or prefix match for entries ending in ".*" ("auth.*" matches "auth.x", not "auth"). */
export function isNonRetryable(code: string, list: readonly string[]): boolean {
  for (const pattern of list) {
    if (pattern === code) return true;
    if (pattern.endsWith(".*") && code.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}
