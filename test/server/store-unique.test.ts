/** The store's unique jobs and dead-letter list, driven directly with a fake clock (split from store.test.ts). */
import { describe, expect, it } from "vitest";
import { DuplicateJobError, NotFoundError, ValidationError } from "../../src/model/errors.js";
import { setup } from "./store-setup.js";

describe("unique jobs", () => {
  const unique = (onConflict: "reject" | "ignore" | "replace" | "replace_except_schedule", extra = {}) => ({
    args: [{ user: 1 }],
    unique: { keys: ["type", "args"], onConflict, ...extra },
  });

  it("reject: a duplicate in a blocking state is DuplicateJobError naming the existing job", () => {
    const { job } = setup();
    const first = job(unique("reject"));
    const err = (() => {
      try {
        job(unique("reject"));
      } catch (e) {
        return e;
      }
    })() as DuplicateJobError;
    expect(err).toBeInstanceOf(DuplicateJobError);
    expect(err.existingJobId).toBe(first.id);
    expect(job({ ...unique("reject"), args: [{ user: 2 }] }).job.state).toBe("available");
  });

  it("ignore returns the existing job and creates nothing", () => {
    const { store, job } = setup();
    const first = job(unique("ignore"));
    const out = store.submit({ type: "t.x", queue: "q", ...unique("ignore") });
    expect(out).toMatchObject({ deduplicated: true });
    expect(out.rec.id).toBe(first.id);
    expect(store.countByState("q").available).toBe(1);
  });

  it("replace cancels the existing job; replace_except_schedule keeps its schedule", () => {
    const { job, clock } = setup();
    const first = job(unique("replace"));
    const second = job(unique("replace"));
    expect([first.job.state, second.job.state]).toEqual(["cancelled", "available"]);
    const at = new Date(clock.now() + 60_000);
    const s1 = job({ ...unique("replace_except_schedule"), type: "t.s", scheduledAt: at });
    const s2 = job({ ...unique("replace_except_schedule"), type: "t.s" });
    expect(s1.job.state).toBe("cancelled");
    expect(s2.job.state).toBe("scheduled");
    expect(s2.job.scheduledAt).toEqual(at);
  });

  it("states and period limit what counts as a duplicate", () => {
    const { store, job, take, clock } = setup();
    const first = job(unique("reject", { states: ["available"] }));
    take();
    store.ack(first.id, undefined);
    expect(job(unique("reject", { states: ["available"] })).job.state).toBe("available");
    job({ ...unique("reject", { period: 1000 }), type: "t.p" });
    clock.advance(1000);
    expect(job({ ...unique("reject", { period: 1000 }), type: "t.p" }).job.state).toBe("available");
  });

  it("the key is global unless the policy names the queue; args_keys narrows it", () => {
    const { job } = setup();
    job({ ...unique("reject"), queue: "a" });
    expect(() => job({ ...unique("reject"), queue: "b" })).toThrow(DuplicateJobError);
    job({ args: [{ user: 1 }], queue: "a", type: "t.q", unique: { keys: ["type", "queue", "args"] } });
    expect(job({ args: [{ user: 1 }], queue: "b", type: "t.q", unique: { keys: ["type", "queue", "args"] } }).job.state).toBe("available");
    job({ args: [{ user: 7, note: "a" }], type: "t.k", unique: { keys: ["args"], argsKeys: ["user"] } });
    expect(() => job({ args: [{ user: 7, note: "b" }], type: "t.k", unique: { keys: ["args"], argsKeys: ["user"] } })).toThrow(DuplicateJobError);
  });

  it("policies the job cannot satisfy are refused (meta without meta_keys, args_keys not in args)", () => {
    const { job } = setup();
    expect(() => job({ unique: { keys: ["meta"] } })).toThrow(ValidationError);
    expect(() => job({ args: [{ a: 1 }], unique: { keys: ["args"], argsKeys: ["b"] } })).toThrow(ValidationError);
  });

  it("a batch is all or nothing, unique conflicts included", () => {
    const { store, job } = setup();
    job(unique("reject"));
    expect(() => store.enqueueBatch([{ req: { type: "t.ok", args: [], queue: "q" } }, { req: { type: "t.x", queue: "q", ...unique("reject") } }])).toThrow(
      DuplicateJobError,
    );
    expect(store.countByState("q").available).toBe(1);
  });

  // A batch whose ids are all made by the store skips the set of ids (they are distinct by
  // construction); one with a chosen id still finds it twice, or taken, whatever else it holds.
  it("a batch refuses a chosen id it holds twice or that is taken, and stores nothing", () => {
    const { store } = setup();
    const id = "019a0000-0000-7000-8000-000000000001";
    const made = { req: { type: "t.x", args: [], queue: "q" } };
    const chosen = { req: { type: "t.x", args: [], queue: "q", id } };
    expect(() => store.enqueueBatch([made, chosen, made, chosen])).toThrow(/jobs\[3\]: id .* appears twice in the batch/);
    expect(store.countByState("q").available).toBe(0);
    const ok = store.enqueueBatch([made, chosen, made]);
    expect(new Set(ok.map((r) => r.id)).size).toBe(3);
    expect(ok[1]!.id).toBe(id);
    expect(() => store.enqueueBatch([made, chosen])).toThrow(/jobs\[1\]: a job with id .* already exists/);
    const many = store.enqueueBatch(Array.from({ length: 500 }, () => made));
    expect(new Set(many.map((r) => r.id)).size).toBe(500);
    expect(store.countByState("q").available).toBe(503);
  });
});

describe("dead letter", () => {
  it("list, retry with a fresh attempt budget, delete for good", () => {
    const { store, job, take } = setup();
    const rec = job({ retry: { maxAttempts: 1, onExhaustion: "dead_letter" } });
    take();
    store.nack(rec.id, { code: "boom", message: "" });
    expect(store.queueSummary("q").dead).toBe(1);
    const retried = store.retryDeadLetter(rec.id);
    expect(retried.job).toMatchObject({ state: "available", attempt: 0 });
    expect(retried.job.errors).toHaveLength(1);
    expect(store.listDeadLetter().total).toBe(0);
    take();
    store.nack(rec.id, { code: "boom", message: "" });
    store.deleteDeadLetter(rec.id);
    expect(() => store.get(rec.id)).toThrow(NotFoundError);
    expect(() => store.deleteDeadLetter(rec.id)).toThrow(NotFoundError);
    expect(store.queueSummary("q").dead).toBe(0);
  });

  it("is bounded: the oldest dead job goes first", () => {
    const { store, job, take } = setup({ maxDeadLetter: 2 });
    const ids = [0, 1, 2].map(() => {
      const r = job({ retry: { maxAttempts: 1, onExhaustion: "dead_letter" } });
      take();
      store.nack(r.id, { code: "x", message: "" });
      return r.id;
    });
    expect(store.listDeadLetter().jobs.map((r) => r.id)).toEqual(ids.slice(1));
    expect(store.has(ids[0]!)).toBe(false);
  });
});
