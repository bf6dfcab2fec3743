/**
 * The pure decisions a database store reuses (src/server/store/policies.ts):
 * failed attempts, expired leases and unique conflicts, decided from a
 * record's fields and the clock alone.
 */
import { describe, expect, it } from "vitest";
import { mergeRetry } from "../../src/server/store/backoff.js";
import { decideFailure, decideLeaseExpiry, decideUnique } from "../../src/server/store/policies.js";

const retry = mergeRetry({
  maxAttempts: 3,
  initialInterval: 1000,
  backoffCoefficient: 2,
  maxInterval: 60_000,
  jitter: false,
  onExhaustion: "dead_letter",
  nonRetryableErrors: ["fatal.*"],
});
const noRandom = () => {
  throw new Error("jitter drawn for a discard");
};

describe("decideFailure", () => {
  it("retries with the policy's backoff while attempts remain, and draws jitter only then", () => {
    expect(decideFailure(1, retry, { code: "io" }, undefined, () => 0.5)).toEqual({ kind: "retry", delayMs: 1000 });
    expect(decideFailure(2, retry, { code: "io" }, undefined, () => 0.5)).toEqual({ kind: "retry", delayMs: 2000 });
    expect(decideFailure(3, retry, { code: "io" }, undefined, noRandom)).toEqual({ kind: "discard", deadLetter: true });
  });

  it("a non-retryable error, by flag or by code, is discarded at once; the handler's response overrides", () => {
    expect(decideFailure(1, retry, { code: "io", retryable: false }, undefined, noRandom)).toEqual({ kind: "discard", deadLetter: true });
    expect(decideFailure(1, retry, { code: "fatal.db" }, undefined, noRandom)).toEqual({ kind: "discard", deadLetter: true });
    expect(decideFailure(1, retry, { code: "fatal.db" }, "RETRY", () => 0.5)).toEqual({ kind: "retry", delayMs: 1000 });
    expect(decideFailure(3, retry, { code: "io" }, "RETRY", noRandom)).toEqual({ kind: "discard", deadLetter: true });
    expect(decideFailure(1, retry, { code: "io" }, "DISCARD", noRandom)).toEqual({ kind: "discard", deadLetter: false });
    expect(decideFailure(1, retry, { code: "io" }, "FAIL", noRandom)).toEqual({ kind: "discard", deadLetter: false });
    expect(decideFailure(1, { ...retry, onExhaustion: "discard" }, { code: "io" }, "DEAD_LETTER", noRandom)).toEqual({ kind: "discard", deadLetter: true });
    expect(decideFailure(3, { ...retry, onExhaustion: "discard" }, { code: "io" }, undefined, noRandom)).toEqual({ kind: "discard", deadLetter: false });
  });
});

describe("decideLeaseExpiry", () => {
  it("an uncharged expiry is free; a charged one retries or, with no attempt left, is exhausted", () => {
    expect(decideLeaseExpiry(false, 3, retry)).toEqual({ kind: "free" });
    expect(decideLeaseExpiry(true, 2, retry)).toEqual({ kind: "retry" });
    expect(decideLeaseExpiry(true, 3, retry)).toEqual({ kind: "discard", deadLetter: true });
    expect(decideLeaseExpiry(true, 3, { ...retry, onExhaustion: "discard" })).toEqual({ kind: "discard", deadLetter: false });
  });
});

describe("decideUnique", () => {
  const now = 1_000_000;
  it("inserts when nothing blocks: no existing job, a state the policy does not name, a period that is over", () => {
    expect(decideUnique(undefined, { onConflict: "reject" }, now)).toBe("insert");
    expect(decideUnique({ state: "completed", createdAt: now }, { onConflict: "reject" }, now)).toBe("insert");
    expect(decideUnique({ state: "available", createdAt: now - 5000 }, { onConflict: "reject", period: 5000 }, now)).toBe("insert");
  });
  it("otherwise on_conflict decides, reject by default", () => {
    const blocking = { state: "available" as const, createdAt: now - 10 };
    expect(decideUnique(blocking, {}, now)).toBe("reject");
    expect(decideUnique(blocking, { onConflict: "ignore" }, now)).toBe("ignore");
    expect(decideUnique(blocking, { onConflict: "replace" }, now)).toBe("replace");
    expect(decideUnique(blocking, { onConflict: "replace_except_schedule" }, now)).toBe("replace");
    expect(decideUnique({ state: "completed", createdAt: now }, { onConflict: "ignore", states: ["completed"] }, now)).toBe("ignore");
  });
});
