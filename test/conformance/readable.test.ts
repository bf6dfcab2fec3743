/**
 * The interpreter refuses what it cannot read: each form below used to pass
 * without checking anything. Every refusal fails the case as "unreadable",
 * names the key, and sends nothing.
 */
import { describe, expect, it } from "vitest";
import type { TestCase } from "../../conformance/lib/cases.js";
import { runCase, type Executor, type StepResponse } from "../../conformance/lib/interpreter.js";
import { matcherProblem } from "../../conformance/lib/matchers.js";
import { unexplainedFailures, type KnownFailure } from "../../conformance/lib/policy.js";
import { readCase } from "../../conformance/lib/readable.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";

const opts = { tolerancePct: 50, checkHeaders: true, sleep: async () => {}, now: () => Date.now() };

/** Answers every request 200 with an empty object, and counts them. */
class AlwaysOk implements Executor {
  readonly protocol = "test";
  sent = 0;
  async send(): Promise<StepResponse> {
    this.sent++;
    return { status: 200, headers: {}, text: "{}", body: {}, durationMs: 1 };
  }
  async close(): Promise<void> {}
}

const GET_OK: JsonObject = { id: "s1", action: "GET", path: "/ojs/v1/health", assertions: { status: 200 } };
const base = (over: JsonObject = {}, steps: JsonValue[] = [GET_OK]): JsonObject => ({ test_id: "T-1", level: 0, category: "x", name: "t", steps, ...over });
const step = (over: JsonObject): JsonObject => ({ ...GET_OK, ...over });
const asserting = (assertions: JsonValue): JsonObject => step({ assertions });

/** Runs the case against a server that answers 200 {} to everything: only a refusal can stop it passing. */
async function refused(raw: JsonObject, key: string): Promise<string> {
  const ex = new AlwaysOk();
  const out = await runCase(raw as unknown as TestCase, ex, opts);
  expect(out.status).toBe("unreadable");
  expect(ex.sent).toBe(0);
  const hit = out.failures.find((f) => f.field === key);
  expect(hit, `a failure naming ${key}: ${JSON.stringify(out.failures)}`).toBeDefined();
  expect(hit!.message).toMatch(/^unreadable: /);
  return hit!.message;
}

describe("the interpreter refuses what it cannot read", () => {
  it("the baseline case is readable and passes", async () => {
    expect(readCase(base())).toEqual([]);
    expect((await runCase(base() as unknown as TestCase, new AlwaysOk(), opts)).status).toBe("pass");
  });

  it("an unknown top-level key", async () => {
    expect(await refused(base({ asserts: { status: 200 } }), "asserts")).toMatch(/unknown key "asserts"/);
  });

  it("preconditions that are not prose", async () => {
    expect(readCase(base({ preconditions: "Queue 'q' must have max_depth=1" }))).toEqual([]);
    expect(await refused(base({ preconditions: { queue: "q", max_depth: 1 } }), "preconditions")).toMatch(/prose/);
  });

  it("checks under an unknown step key (asserts), or under an `expect` key with no meaning", async () => {
    const { assertions: _, ...bare } = GET_OK;
    expect(await refused(base({}, [step({ asserts: { status: 200 } })]), "asserts")).toMatch(/unknown key/);
    // `expect` is read (expect-form.ts), but only for status, status_in and body.<path>.
    expect(await refused(base({}, [{ ...bare, expect: { status: 200, headers: { a: "b" } } }]), "headers")).toMatch(/unknown key "headers" in "expect"/);
    expect(await refused(base({}, [{ ...bare, expect: {} }]), "expect")).toMatch(/must be an object/);
  });

  it("an unknown key in setup or teardown", async () => {
    expect(await refused(base({ setup: { steps: [], before: 1 } }), "before")).toMatch(/in setup/);
  });

  it("an unknown action, over HTTP as well", async () => {
    expect(await refused(base({}, [step({ action: "FETCH" })]), "action")).toMatch(/unknown action "FETCH"/);
    expect(await refused(base({}, [step({ action: "get" })]), "action")).toMatch(/unknown action/);
  });

  it("assertions on a WAIT step", async () => {
    expect(await refused(base({}, [{ id: "w", action: "WAIT", duration_ms: 10, assertions: { status: 200 } }, GET_OK]), "assertions")).toMatch(
      /for a WAIT step/,
    );
  });

  it("body_raw (reserved by the reference, with no meaning)", async () => {
    expect(await refused(base({}, [asserting({ status: 200, body_raw: "{}" })]), "body_raw")).toMatch(/reserved/);
  });

  it("unknown timing_ms keys, and timings that are not numbers", async () => {
    expect(await refused(base({}, [asserting({ timing_ms: { at_most: 10 } })]), "at_most")).toMatch(/unknown timing key/);
    expect(await refused(base({}, [asserting({ timing_ms: { less_than: "10" } })]), "less_than")).toMatch(/number/);
  });

  it("headers given as a string, in assertions and in the request", async () => {
    expect(await refused(base({}, [asserting({ headers: "Content-Type: application/json" })]), "headers")).toMatch(/object/);
    expect(await refused(base({}, [step({ headers: "Content-Type: application/json" })]), "headers")).toMatch(/object of strings/);
  });

  it("body_absent and body_contains not given as lists", async () => {
    expect(await refused(base({}, [asserting({ body_absent: "$.job.error" })]), "body_absent")).toMatch(/list/);
    expect(await refused(base({}, [asserting({ body_contains: "completed" })]), "body_contains")).toMatch(/list/);
  });

  it("a body path that is not JSONPath", async () => {
    expect(await refused(base({}, [asserting({ body: { "body.job.id": "any" } })]), "body.job.id")).toMatch(/not a JSONPath/);
  });

  it("range with bounds it does not know ({minimum, maximum})", async () => {
    expect(await refused(base({}, [asserting({ body: { "$.n": { range: { minimum: 1, maximum: 3 } } } })]), "$.n")).toMatch(/needs \{min, max\}/);
  });

  it("$exists given something other than true or false", async () => {
    expect(await refused(base({}, [asserting({ body: { "$.id": { $exists: "yes" } } })]), "$.id")).toMatch(/\$exists: needs true or false/);
  });

  it("an unknown operator, an unknown type, and a string matcher that is none", async () => {
    expect(await refused(base({}, [asserting({ body: { "$.id": { $regex: "^a" } } })]), "$.id")).toMatch(/unknown operator "\$regex"/);
    expect(await refused(base({}, [asserting({ body: { "$.id": { $type: "uuid" } } })]), "$.id")).toMatch(/unknown type/);
    expect(await refused(base({}, [asserting({ body: { "$.id": "string:uuid7" } })]), "$.id")).toMatch(/unknown string matcher/);
    expect(await refused(base({}, [asserting({ status: "number:between(200,299)" })]), "status")).toMatch(/unknown string matcher/);
  });

  it("a case with no steps, and a case whose steps assert nothing", async () => {
    expect(await refused(base({}, []), "steps")).toMatch(/non-empty list of steps/);
    const { assertions: _, ...bare } = GET_OK;
    expect(await refused(base({}, [bare]), "steps")).toMatch(/could not fail/);
  });

  it("step ids used twice, and parallel_with naming no step", async () => {
    expect(await refused(base({}, [GET_OK, GET_OK]), "id")).toMatch(/used twice/);
    expect(await refused(base({}, [step({ parallel_with: "nope" })]), "parallel_with")).toMatch(/another step/);
  });

  it("an ASSERT step with an unknown cross-step assertion, or a claim that checks nothing", async () => {
    const assertStep = (assertions: JsonValue): JsonObject => ({ id: "a", action: "ASSERT", assertions });
    expect(await refused(base({}, [GET_OK, assertStep({ all_equal: true })]), "all_equal")).toMatch(/unknown cross-step/);
    expect(await refused(base({}, [GET_OK, assertStep({ exclusive_claim: { job_id: "J", fetches: ["a", "b"] } })]), "exclusive_claim")).toMatch(
      /checks nothing/,
    );
  });

  it("every matcher form of the reference is readable", () => {
    const forms: JsonValue[] = [
      "any",
      "absent",
      "exists",
      "string:nonempty",
      "string:non_empty",
      "string:uuid",
      "string:uuidv7",
      "string:datetime",
      "string:contains:x",
      "string:pattern(^a.*$)",
      "number:positive",
      "number:non_negative",
      "number:range(1,5)",
      "~2000",
      "array:nonempty",
      "array:empty",
      "array:length:2",
      "array:length(0)",
      "array:min_length:1",
      "array:min:2",
      "contains:x",
      "not_contains:y",
      "one_of:a,b",
      "available",
      3,
      true,
      null,
      ["any", 1],
      { $exists: true, $type: "string" },
      { $match: "^a" },
      { $in: [200, 201] },
      { $size: 3 },
      { $size: { $gte: 1 } },
      { $or: ["string:nonempty", { $exists: false }] },
      { $empty: true },
      { range: { min: 0, max: 100 } },
      { range: { min: 1000 } },
      { $eq: 1 },
      { $ne: "x" },
      { $gt: 1, $lt: 3 },
      { name: "q", paused: false },
    ];
    for (const f of forms) expect(matcherProblem(f), JSON.stringify(f)).toBeUndefined();
  });
});

describe("known failures are known by their reason, not by failing", () => {
  const known: KnownFailure = {
    protocols: ["http"],
    reason: "the case expects an old type",
    failures: [{ step: "step-8", field: "$.type", actual: '"handler_error"' }],
  };
  const failure = (field: string, actual: string) => ({ step: "step-8", field, expected: '"Old"', actual, message: "" });

  it("the documented failure, and nothing else, is the known failure", () => {
    expect(unexplainedFailures(known, [failure("$.type", '"handler_error"')])).toBeUndefined();
  });
  it("another failure beside it, or the same field failing with another value, is a failure", () => {
    expect(unexplainedFailures(known, [failure("$.type", '"handler_error"'), failure("status", "500")])).toMatch(/beyond its documented reason/);
    expect(unexplainedFailures(known, [failure("$.type", "(absent)")])).toMatch(/beyond its documented reason.*no longer fails as documented/);
  });
});
