import { describe, expect, it } from "vitest";
import { isNonRetryable, mergeRetry, rawDelayMs, retryDelayMs, strategyOf } from "../../src/server/store/backoff.js";

const policy = (p: Parameters<typeof mergeRetry>[0]) => mergeRetry({ jitter: false, ...p });

describe("backoff (RET §3, §5)", () => {
  it("defaults follow the spec: 3 attempts, PT1S, x2, PT5M cap, jitter, discard", () => {
    expect(mergeRetry(undefined)).toMatchObject({
      maxAttempts: 3,
      initialInterval: 1000,
      backoffCoefficient: 2,
      maxInterval: 300_000,
      jitter: true,
      onExhaustion: "discard",
    });
  });

  it("exponential: initial * coefficient^(n-1)", () => {
    const p = policy({ initialInterval: 1000, backoffCoefficient: 2 });
    expect([1, 2, 3, 4].map((n) => retryDelayMs(p, n))).toEqual([1000, 2000, 4000, 8000]);
  });

  it("linear: initial * n, whatever the coefficient", () => {
    const p = policy({ initialInterval: 1000, backoffCoefficient: 1, backoffStrategy: "linear" });
    expect([1, 2, 3].map((n) => retryDelayMs(p, n))).toEqual([1000, 2000, 3000]);
  });

  it("constant: a coefficient of exactly 1 (or the strategy) keeps the initial interval", () => {
    expect(strategyOf(policy({ backoffCoefficient: 1 }))).toBe("constant");
    const p = policy({ initialInterval: 1500, backoffCoefficient: 1 });
    expect([1, 2, 5].map((n) => retryDelayMs(p, n))).toEqual([1500, 1500, 1500]);
  });

  it("polynomial: initial * n^coefficient", () => {
    const p = policy({ initialInterval: 1000, backoffCoefficient: 4, backoffStrategy: "polynomial" });
    expect([1, 2, 3].map((n) => rawDelayMs(p, n))).toEqual([1000, 16_000, 81_000]);
  });

  it("max_interval caps the computed delay, including absurd growth", () => {
    const p = policy({ initialInterval: 1000, backoffCoefficient: 10, maxInterval: 2000 });
    expect([1, 2, 3, 400].map((n) => retryDelayMs(p, n))).toEqual([1000, 2000, 2000, 2000]);
  });

  it("jitter multiplies the capped delay by a factor in [0.5, 1.5)", () => {
    const p = mergeRetry({ initialInterval: 2000, backoffCoefficient: 1, jitter: true, maxInterval: 2000 });
    expect(retryDelayMs(p, 1, () => 0)).toBe(1000);
    expect(retryDelayMs(p, 1, () => 0.5)).toBe(2000);
    expect(retryDelayMs(p, 1, () => 0.999999)).toBeLessThan(3000);
    expect(retryDelayMs(p, 1, () => 0.999999)).toBeGreaterThanOrEqual(2999);
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(p, 1);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(3000);
    }
  });

  it("non-retryable errors match exactly, or by a prefix ending in .*", () => {
    const list = ["validation.payload_invalid", "auth.*"];
    expect(isNonRetryable("validation.payload_invalid", list)).toBe(true);
    expect(isNonRetryable("validation.schema_error", list)).toBe(false);
    expect(isNonRetryable("auth.token_expired", list)).toBe(true);
    expect(isNonRetryable("auth", list)).toBe(false);
    expect(isNonRetryable("external.auth.failure", list)).toBe(false);
  });
});
