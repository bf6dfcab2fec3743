import { describe, expect, it } from "vitest";
import type { Step, TestCase } from "../../conformance/lib/cases.js";
import { groupSteps, runCase, type Executor, type StepRequest, type StepResponse } from "../../conformance/lib/interpreter.js";
import { parsePath, resolve } from "../../conformance/lib/jsonpath.js";
import { interpolate, resolveValue, type TemplateContext } from "../../conformance/lib/templates.js";
import type { JsonValue } from "../../src/model/json.js";

describe("JSONPath subset", () => {
  const doc: JsonValue = {
    job: { id: "j1", args: [{ order: 1 }, [10, [20, 30]]], meta: { "a.b": 1 } },
    jobs: [
      { id: "a", state: "active", n: 1 },
      { id: "b", state: "available", n: 2 },
    ],
    parent_results: { "0": { report_id: "R-1" } },
    empty: null,
  };
  it("dot notation and the root", () => {
    expect(resolve("$.job.id", doc)).toEqual({ found: true, value: "j1" });
    expect(resolve("$", doc).value).toBe(doc);
    expect(resolve("job.id", doc).value).toBe("j1");
  });
  it("array indexes, chained, and out of range", () => {
    expect(resolve("$.job.args[0].order", doc).value).toBe(1);
    expect(resolve("$.job.args[1][1][0]", doc).value).toBe(20);
    expect(resolve("$.jobs[5]", doc).found).toBe(false);
  });
  it("an index on an object keyed by position reads that key (parent_results)", () => {
    expect(resolve("$.parent_results[0].report_id", doc).value).toBe("R-1");
    expect(resolve("$.parent_results[1]", doc).found).toBe(false);
  });
  it("a wildcard collects the rest of the path over every element, skipping misses", () => {
    expect(resolve("$.jobs[*].id", doc).value).toEqual(["a", "b"]);
    expect(resolve("$.jobs[*].missing", doc).value).toEqual([]);
  });
  it("a filter selects the first element whose field equals the value, as text", () => {
    expect(resolve("$.jobs[?(@.state=='available')].id", doc).value).toBe("b");
    expect(resolve("$.jobs[?(@.n==1)].id", doc).value).toBe("a");
    expect(resolve('$.jobs[?(@.id=="zz")]', doc).found).toBe(false);
  });
  it("quoted keys, missing keys, and null values", () => {
    expect(resolve("$.job.meta['a.b']", doc).value).toBe(1);
    expect(resolve("$.job.nothing", doc).found).toBe(false);
    // A flat key with dots, read through a dotted path (the encryption cases' meta keys).
    expect(resolve("$.job.meta.a.b", doc).value).toBe(1);
    expect(resolve("$.job.meta.a.c", doc).found).toBe(false);
    expect(resolve("$.empty", doc)).toEqual({ found: true, value: null });
    expect(resolve("$.empty.x", doc).found).toBe(false);
  });
  it("parses filters that contain brackets and dots in quotes", () => {
    expect(parsePath("$.jobs[?(@.id=='a.b]c')].x")).toEqual([
      { kind: "key", key: "jobs" },
      { kind: "filter", key: "id", value: "a.b]c" },
      { kind: "key", key: "x" },
    ]);
    expect(() => parsePath("$.a[?(@.x>1)]")).toThrow(/filters/);
  });
});

describe("templates", () => {
  const ctx: TemplateContext = {
    bodies: new Map<string, JsonValue | undefined>([
      ["step-1", { job: { id: "J", attempt: 2, ratio: 0.5 } }],
      ["step-2", { jobs: [{ id: "J" }] }],
    ]),
    vars: new Map<string, JsonValue>([["job_id", "CAPTURED"]]),
  };
  it("interpolates references in text, integers without a fraction", () => {
    expect(interpolate("/ojs/v1/jobs/{{steps.step-1.response.body.job.id}}", ctx)).toBe("/ojs/v1/jobs/J");
    expect(interpolate("n={{steps.step-1.response.body.job.attempt}} r={{steps.step-1.response.body.job.ratio}}", ctx)).toBe("n=2 r=0.5");
    expect(interpolate("{{steps.step-2.response.body.jobs[0].id}}", ctx)).toBe("J");
  });
  it("a reference that does not resolve is left as it was", () => {
    expect(interpolate("{{steps.nope.response.body.x}}", ctx)).toBe("{{steps.nope.response.body.x}}");
    expect(interpolate("{{steps.step-1.response.body.job.missing}}", ctx)).toBe("{{steps.step-1.response.body.job.missing}}");
  });
  it("captured names resolve as {{name}}", () => {
    expect(interpolate("/x/{{job_id}}/retry", ctx)).toBe("/x/CAPTURED/retry");
  });
  it("a string that is exactly one reference keeps the value's type", () => {
    expect(resolveValue({ fetches: ["{{steps.step-2.response.body.jobs}}"], n: "{{steps.step-1.response.body.job.attempt}}" }, ctx)).toEqual({
      fetches: [[{ id: "J" }]],
      n: 2,
    });
  });
  it("object keys are interpolated too (JSONPath assertions with references)", () => {
    expect(resolveValue({ "$.jobs[?(@.id=='{{steps.step-1.response.body.job.id}}')]": "exists" }, ctx)).toEqual({ "$.jobs[?(@.id=='J')]": "exists" });
  });
});

/** Answers steps from a script, recording what was sent and when. */
class ScriptedExecutor implements Executor {
  readonly protocol = "http";
  sent: Array<StepRequest & { at: number }> = [];
  constructor(private readonly answer: (req: StepRequest, n: number) => Partial<StepResponse>) {}
  async send(req: StepRequest): Promise<StepResponse> {
    this.sent.push({ ...req, at: Date.now() });
    const a = this.answer(req, this.sent.length);
    return {
      status: a.status ?? 200,
      headers: a.headers ?? {},
      body: a.body,
      text: a.text ?? (a.body === undefined ? "" : JSON.stringify(a.body)),
      durationMs: a.durationMs ?? 1,
    };
  }
  async close(): Promise<void> {}
}

const opts = { tolerancePct: 50, checkHeaders: true, sleep: async () => {}, now: () => Date.now() };
const tc = (steps: Step[]): TestCase => ({ test_id: "T-1", level: 0, category: "x", name: "t", steps });

describe("interpreter", () => {
  it("passes references between steps and judges status, body, absent fields and headers", async () => {
    const ex = new ScriptedExecutor((req): Partial<StepResponse> =>
      req.method === "POST"
        ? { status: 201, headers: { "content-type": "application/openjobspec+json" }, body: { job: { id: "J1", state: "available" } } }
        : { status: 200, body: { job: { id: "J1" } } },
    );
    const out = await runCase(
      tc([
        {
          id: "s1",
          action: "POST",
          path: "/ojs/v1/jobs",
          body: { type: "a.b", args: [] },
          assertions: {
            status: 201,
            headers: { "Content-Type": "application/openjobspec+json" },
            body: { "$.job.state": "available" },
            body_absent: ["$.job.error"],
          },
        },
        {
          id: "s2",
          action: "GET",
          path: "/ojs/v1/jobs/{{steps.s1.response.body.job.id}}",
          assertions: { status: "one_of:200,204", body: { "$.job.id": "{{steps.s1.response.body.job.id}}" } },
        },
      ]),
      ex,
      opts,
    );
    expect(out.failures).toEqual([]);
    expect(out.status).toBe("pass");
    expect(ex.sent[1]!.path).toBe("/ojs/v1/jobs/J1");
  });

  it("reports each failed assertion with the step, the field, the expectation and the actual value", async () => {
    const ex = new ScriptedExecutor(() => ({ status: 404, body: { error: { code: "not_found" } } }));
    const out = await runCase(
      tc([{ id: "s1", action: "GET", path: "/x", assertions: { status: 200, body: { "$.error.code": "conflict" }, body_contains: ["nope"] } }]),
      ex,
      opts,
    );
    expect(out.status).toBe("fail");
    expect(out.failures.map((f) => [f.step, f.field])).toEqual([
      ["s1", "status"],
      ["s1", "$.error.code"],
      ["s1", "body_contains"],
    ]);
    expect(out.failures[1]).toMatchObject({ expected: '"conflict"', actual: '"not_found"' });
  });

  it("a top-level $or passes when any alternative body matches, including $empty", async () => {
    const ex = new ScriptedExecutor(() => ({ status: 204, body: undefined }));
    const out = await runCase(
      tc([{ id: "s", action: "POST", path: "/f", assertions: { status: { $in: [200, 204] }, body: { $or: [{ "$.jobs": { $size: 0 } }, { $empty: true }] } } }]),
      ex,
      opts,
    );
    expect(out.failures).toEqual([]);
  });

  it("status_in and the status_one_of spelling", async () => {
    const ex = new ScriptedExecutor(() => ({ status: 207 }));
    const out = await runCase(tc([{ id: "s", action: "POST", path: "/b", assertions: { status_in: [201, 207], status_one_of: [200, 404] } }]), ex, opts);
    expect(out.failures.map((f) => f.field)).toEqual(["status"]);
  });

  it("header matchers are case-insensitive on the name and may be operators; they can be turned off", async () => {
    const ex = new ScriptedExecutor(() => ({ status: 200, headers: { "x-request-id": "r-1" } }));
    const step: Step = { id: "s", action: "GET", path: "/h", assertions: { headers: { "X-Request-ID": { $eq: "r-1" }, "Retry-After": { $exists: true } } } };
    expect((await runCase(tc([step]), ex, opts)).failures.map((f) => f.field)).toEqual(["header Retry-After"]);
    expect((await runCase(tc([step]), ex, { ...opts, checkHeaders: false })).failures).toEqual([]);
  });

  it("timing_ms: less_than, greater_than and approximate with a 100 ms floor", async () => {
    const ex = new ScriptedExecutor(() => ({ status: 200, durationMs: 150 }));
    const out = await runCase(
      tc([{ id: "s", action: "GET", path: "/t", assertions: { timing_ms: { less_than: 100, greater_than: 200, approximate: 100 } } }]),
      ex,
      opts,
    );
    expect(out.failures.map((f) => f.expected)).toEqual(['"< 100 ms"', '"> 200 ms"']);
  });

  it("WAIT and delay_ms sleep (once each) without sending anything", async () => {
    const slept: number[] = [];
    const ex = new ScriptedExecutor(() => ({ status: 200 }));
    const out = await runCase(
      tc([
        { id: "w", action: "WAIT", duration_ms: 300 },
        { id: "w2", action: "WAIT", delay_ms: 50 },
        { id: "g", action: "GET", path: "/", delay_ms: 20, assertions: { status: 200 } },
      ]),
      ex,
      {
        ...opts,
        sleep: async (ms) => void slept.push(ms),
      },
    );
    expect(out.status).toBe("pass");
    expect(slept).toEqual([300, 50, 20]);
    expect(ex.sent).toHaveLength(1);
  });

  it("steps tied by parallel_with run at the same time; the others in order", async () => {
    const steps: Step[] = [
      { id: "a", action: "GET", path: "/a" },
      { id: "b", action: "GET", path: "/b", parallel_with: "c" },
      { id: "c", action: "GET", path: "/c", parallel_with: "b" },
      { id: "d", action: "GET", path: "/d" },
    ];
    expect(groupSteps(steps).map((g) => g.map((s) => s.id))).toEqual([["a"], ["b", "c"], ["d"]]);
  });

  it("ASSERT exclusive_claim: exactly one fetch got the job and exactly one was empty", async () => {
    const ex = new ScriptedExecutor((req): Partial<StepResponse> =>
      req.path === "/e" ? { status: 201, body: { job: { id: "J" } } } : { status: 200, body: { jobs: req.path === "/f1" ? [{ id: "J" }] : [] } },
    );
    const claim = {
      exclusive_claim: {
        job_id: "{{steps.e.response.body.job.id}}",
        fetches: ["{{steps.f1.response.body.jobs}}", "{{steps.f2.response.body.jobs}}"],
        exactly_one_has_job: true,
        exactly_one_empty: true,
      },
    };
    const ok = await runCase(
      tc([
        { id: "e", action: "POST", path: "/e" },
        { id: "f1", action: "POST", path: "/f1" },
        { id: "f2", action: "POST", path: "/f2" },
        { id: "x", action: "ASSERT", assertions: claim },
      ]),
      ex,
      opts,
    );
    expect(ok.failures).toEqual([]);
    const both = new ScriptedExecutor((req): Partial<StepResponse> =>
      req.path === "/e" ? { status: 201, body: { job: { id: "J" } } } : { status: 200, body: { jobs: [{ id: "J" }] } },
    );
    const bad = await runCase(
      tc([
        { id: "e", action: "POST", path: "/e" },
        { id: "f1", action: "POST", path: "/f1" },
        { id: "f2", action: "POST", path: "/f2" },
        { id: "x", action: "ASSERT", assertions: claim },
      ]),
      both,
      opts,
    );
    expect(bad.failures.map((f) => f.field)).toEqual(["exclusive_claim.exactly_one_has_job", "exclusive_claim.exactly_one_empty"]);
  });

  it("capture names a value for later {{name}} references; repeat sends a step several times", async () => {
    let n = 0;
    const ex = new ScriptedExecutor((req): Partial<StepResponse> =>
      req.path === "/jobs" ? { status: 201, body: { job: { id: `J${++n}` } } } : { status: 200 },
    );
    await runCase(
      tc([
        { id: "s", action: "POST", path: "/jobs", repeat: 3, capture: { job_id: "$.job.id" }, assertions: { status: 201 } },
        { id: "t", action: "POST", path: "/dlq/{{job_id}}/retry" },
      ]),
      ex,
      opts,
    );
    expect(ex.sent.map((s) => s.path)).toEqual(["/jobs", "/jobs", "/jobs", "/dlq/J3/retry"]);
  });

  it("an unknown assertion key makes the case unreadable, not silently ignored; *_comment keys are notes", async () => {
    const ex = new ScriptedExecutor(() => ({ status: 200 }));
    const out = await runCase(tc([{ id: "s", action: "GET", path: "/", assertions: { status: 200, header_count: 3, headers_comment: "note" } }]), ex, opts);
    expect(out.status).toBe("unreadable");
    expect(out.failures.map((f) => f.field)).toEqual(["header_count"]);
    expect(ex.sent).toHaveLength(0);
  });

  it("a setup failure stops the case; teardown runs but does not judge", async () => {
    const ex = new ScriptedExecutor((req): Partial<StepResponse> => ({ status: req.path === "/setup" ? 500 : 200 }));
    const out = await runCase(
      {
        ...tc([{ id: "s", action: "GET", path: "/never", assertions: { status: 200 } }]),
        setup: { steps: [{ id: "u", action: "POST", path: "/setup", assertions: { status: 200 } }] },
        teardown: { steps: [{ id: "d", action: "DELETE", path: "/td", assertions: { status: 404 } }] },
      },
      ex,
      opts,
    );
    expect(out.status).toBe("fail");
    expect(out.failures[0]!.message).toMatch(/^setup:/);
    expect(ex.sent.map((s) => s.path)).toEqual(["/setup", "/td"]);
  });
});
