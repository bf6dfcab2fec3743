import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import { formatIsoDuration, parseIsoDuration } from "../../src/model/duration.js";
import type { EnqueueOptions } from "../../src/model/job.js";

function issue(type: unknown, args: unknown, options: unknown = {}): string {
  try {
    normalizeJobRequest({ type: type as string, args: args as [], options: options as EnqueueOptions });
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).message;
  }
  return "valid";
}

describe("what a user passes to enqueue is validated, and the error names the field", () => {
  it.each([
    ["Email.Send", "type"],
    ["email send", "type"],
    ["1email", "type"],
    ["", "type"],
    [42, "type"],
  ])("type %j is refused", (type, field) => {
    expect(issue(type, [])).toMatch(new RegExp(`^${field}: `));
  });

  it("accepts dotted lowercase types, with digits, _ and -", () => {
    expect(issue("email.send", [])).toBe("valid");
    expect(issue("dlq.test.discarded-in-dlq", [])).toBe("valid");
    expect(issue("a_b.c2", [])).toBe("valid");
  });

  it.each([[{ a: 1 }], ["x"], [3], [null], [undefined]])("args %j must be an array", (args) => {
    expect(issue("t", args)).toMatch(/^args: must be an array/);
  });

  it("args must be plain JSON: no undefined, functions, NaN, Dates, class instances or cycles", () => {
    expect(issue("t", [undefined])).toMatch(/args\[0\] is undefined/);
    expect(issue("t", [() => 1])).toMatch(/args\[0\] is a function/);
    expect(issue("t", [NaN])).toMatch(/args\[0\] is NaN/);
    expect(issue("t", [new Date()])).toMatch(/args\[0\] is a Date/);
    expect(issue("t", [{ a: new Map() }])).toMatch(/args\[0\]\.a is a Map/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(issue("t", [cyc])).toMatch(/circular/);
  });

  it.each([101, -101, 1.5, "1"])("priority %j is refused", (priority) => {
    expect(issue("t", [], { priority })).toMatch(/^options\.priority: must be an integer from -100 to 100/);
  });

  it.each(["Default", "my_queue!", "-x", "a b"])("queue %j is refused", (queue) => {
    expect(issue("t", [], { queue })).toMatch(/^options\.queue: /);
  });

  it("durations are milliseconds or ISO 8601 strings", () => {
    const r = normalizeJobRequest({
      type: "t",
      args: [],
      options: { timeout: "PT2S", visibilityTimeout: 1500, retry: { initialInterval: "PT0.5S", maxInterval: "PT1M" } },
    });
    expect(r.timeout).toBe(2000);
    expect(r.visibilityTimeout).toBe(1500);
    expect(r.retry).toEqual({ initialInterval: 500, maxInterval: 60_000 });
    expect(issue("t", [], { timeout: "2 seconds" })).toMatch(/^options\.timeout: /);
    expect(issue("t", [], { timeout: -1 })).toMatch(/^options\.timeout: /);
    expect(issue("t", [], { retry: { initialInterval: "PT1M", maxInterval: "PT1S" } })).toMatch(/^options\.retry\.maxInterval: must be >= initialInterval/);
  });

  it("unknown options are refused rather than silently ignored", () => {
    expect(issue("t", [], { qeue: "x" })).toMatch(/options/);
    expect(issue("t", [], { retry: { max_attempts: 3 } })).toMatch(/options\.retry/);
  });

  it("delay becomes scheduledAt; delay and scheduledAt together are refused", () => {
    const r = normalizeJobRequest({ type: "t", args: [], options: { delay: "PT10S" } }, 1_000_000);
    expect(r.scheduledAt).toEqual(new Date(1_010_000));
    expect(issue("t", [], { delay: 1, scheduledAt: new Date() })).toMatch(/^options\.delay: cannot be combined/);
    expect(issue("t", [], { scheduledAt: "tomorrow" })).toMatch(/^options\.scheduledAt: /);
  });

  it("ISO 8601 durations parse and format", () => {
    expect(parseIsoDuration("PT1H30M")).toBe(5_400_000);
    expect(parseIsoDuration("P1DT1S")).toBe(86_401_000);
    expect(parseIsoDuration("PT0.25S")).toBe(250);
    expect(parseIsoDuration("P")).toBeUndefined();
    expect(parseIsoDuration("PT")).toBeUndefined();
    expect(parseIsoDuration("P1Y")).toBeUndefined();
    expect(formatIsoDuration(300_000)).toBe("PT5M");
    expect(formatIsoDuration(1500)).toBe("PT1.5S");
    expect(formatIsoDuration(3_723_000)).toBe("PT1H2M3S");
    expect(formatIsoDuration(0)).toBe("PT0S");
  });
});
