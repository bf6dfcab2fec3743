import { describe, expect, it } from "vitest";
import { flattenWorkflow } from "../../src/codec/workflow.js";
import { ConflictError, ValidationError } from "../../src/model/errors.js";
import type { WorkflowDefinition } from "../../src/model/workflow.js";
import { Store } from "../../src/server/store/store.js";
import { FakeClock } from "./fake-clock.js";

function setup() {
  const store = new Store({ clock: new FakeClock() });
  const create = (def: WorkflowDefinition) => {
    const flat = flattenWorkflow(def);
    return store.workflows.create(flat.name, flat.kind, flat.steps);
  };
  const take = (queue = "w") => {
    const [r] = store.fetch({ queues: [queue] });
    if (!r) throw new Error(`nothing in ${queue}`);
    return r;
  };
  const step = (type: string, queue = "w", options = {}) => ({ type, args: [], options: { queue, ...options } });
  return { store, create, take, step };
}

describe("workflows", () => {
  it("a chain runs its steps in order and passes each result to the next", () => {
    const { store, create, take, step } = setup();
    const wf = create({ kind: "chain", name: "c", steps: [step("s.a"), step("s.b"), step("s.c")] });
    expect(wf.state).toBe("running");
    expect(wf.steps.map((s) => s.state)).toEqual(["pending", "waiting", "waiting"]);
    const a = take();
    expect(a.job.type).toBe("s.a");
    expect(store.fetch({ queues: ["w"] })).toEqual([]);
    store.ack(a.id, { report_id: "R-1" });
    const b = take();
    expect(b.job).toMatchObject({ type: "s.b", workflowId: wf.id, parentResults: { "0": { report_id: "R-1" } } });
    store.ack(b.id, 2);
    store.ack(take().id, 3);
    expect(store.workflows.get(wf.id)).toMatchObject({ state: "completed" });
  });

  it("a chain stops at a failed step: the rest is cancelled and the workflow failed", () => {
    const { store, create, take, step } = setup();
    const wf = create({ kind: "chain", name: "c", steps: [step("s.a"), step("s.b", "w", { retry: { maxAttempts: 1 } }), step("s.c")] });
    store.ack(take().id, null);
    store.nack(take().id, { code: "boom", message: "" });
    expect(store.fetch({ queues: ["w"] })).toEqual([]);
    const w = store.workflows.get(wf.id);
    expect(w.state).toBe("failed");
    expect(w.steps.map((s) => s.state)).toEqual(["completed", "failed", "cancelled"]);
  });

  it("a group runs its jobs at once and independently; one failure fails it once all are done", () => {
    const { store, create, take, step } = setup();
    const wf = create({ kind: "group", name: "g", steps: [step("g.a"), step("g.b", "w", { retry: { maxAttempts: 1 } }), step("g.c")] });
    const [a, b, c] = [take(), take(), take()];
    store.nack(b.id, { code: "x", message: "" });
    expect(store.workflows.get(wf.id).state).toBe("running");
    store.ack(a.id, 1);
    store.ack(c.id, 3);
    expect(store.workflows.get(wf.id).state).toBe("failed");
  });

  it("batch callbacks: on_success only if all succeed, on_failure if any failed, on_complete always, with every outcome", () => {
    const { store, create, take, step } = setup();
    const cbs = { onSuccess: step("cb.ok", "cb"), onFailure: step("cb.fail", "cb"), onComplete: step("cb.done", "cb") };
    create({ kind: "batch", name: "b", steps: [step("b.a"), step("b.b", "w", { retry: { maxAttempts: 1 } })], callbacks: cbs });
    store.ack(take().id, { n: 1 });
    store.nack(take().id, { code: "boom", message: "bad" });
    const fired = store.fetch({ queues: ["cb"], count: 10 });
    expect(fired.map((r) => r.job.type).sort()).toEqual(["cb.done", "cb.fail"]);
    expect(fired[0]!.job.parentResults).toEqual({ "0": { n: 1 }, "1": { error: { code: "boom", message: "bad" } } });
    const ok = setup();
    ok.create({ kind: "batch", name: "b", steps: [ok.step("b.a")], callbacks: cbs });
    ok.store.ack(ok.take().id, null);
    expect(
      ok.store
        .fetch({ queues: ["cb"], count: 10 })
        .map((r) => r.job.type)
        .sort(),
    ).toEqual(["cb.done", "cb.ok"]);
  });

  it("a group inside a chain hands its results to the next step nested under the group's index", () => {
    const { store, create, take, step } = setup();
    create({ kind: "chain", name: "n", steps: [step("n.a"), { kind: "group", name: "g", steps: [step("n.g0"), step("n.g1")] }, step("n.z")] });
    store.ack(take().id, "a");
    const g = [take(), take()];
    for (const r of g) store.ack(r.id, r.job.type);
    expect(take().job.parentResults).toEqual({ "1": { "0": "n.g0", "1": "n.g1" } });
  });

  it("cancel stops what has not run; a finished workflow cannot be cancelled", () => {
    const { store, create, take, step } = setup();
    const wf = create({ kind: "chain", name: "c", steps: [step("s.a"), step("s.b")] });
    store.ack(take().id, null);
    const cancelled = store.workflows.cancel(wf.id);
    expect(cancelled.state).toBe("cancelled");
    expect(store.fetch({ queues: ["w"] })).toEqual([]);
    expect(() => store.workflows.cancel(wf.id)).toThrow(ConflictError);
  });

  it("a graph with a cycle or an unknown dependency is refused, and nothing is enqueued", () => {
    const { store } = setup();
    const s = (id: string, dependsOn: string[]) => ({ id, type: "d.x", args: [], dependsOn, request: { queue: "w" } });
    expect(() => store.workflows.create("x", "dag", [s("a", ["b"]), s("b", ["a"])])).toThrow(ValidationError);
    expect(() => store.workflows.create("x", "dag", [s("a", ["zz"])])).toThrow(ValidationError);
    expect(store.countByState("w").available).toBe(0);
  });
});
