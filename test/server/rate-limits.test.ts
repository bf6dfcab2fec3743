/**
 * The rate-limiting extension in the store (fake clock) and over the HTTP
 * binding: limits hold per key, a limited job stays available and the fetch
 * takes the next eligible one, counts move with every way a job leaves
 * `active`, and the inspection routes say so.
 */
import { describe, expect, it } from "vitest";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import type { OjsEvent } from "../../src/model/events.js";
import type { RateLimitInput } from "../../src/model/rate-limit.js";
import { Store } from "../../src/server/store/store.js";
import { FakeClock } from "./fake-clock.js";
import { uniqueQueue, useServer } from "../helpers.js";

function setup() {
  const clock = new FakeClock();
  const store = new Store({ clock, random: () => 0.5 });
  const events: OjsEvent[] = [];
  store.events.subscribe((e) => events.push(e));
  const job = (rateLimit?: RateLimitInput, queue = "q", priority = 0) =>
    store.enqueue(normalizeJobRequest({ type: "t.x", args: [], options: { queue, priority, ...(rateLimit ? { rateLimit } : {}) } }));
  const fetch = (count = 10, queue = "q") => store.fetch({ queues: [queue], count, workerId: "w" });
  return { clock, store, events, job, fetch };
}

describe("rate limits in the store", () => {
  it("concurrency: at most N of a key active; the rest stay available; an ack lets the next one go", () => {
    const { store, job, fetch } = setup();
    const a = [1, 2, 3].map(() => job({ key: "k", concurrency: 1 }));
    const first = fetch();
    expect(first.map((r) => r.id)).toEqual([a[0]!.id]);
    expect(fetch()).toEqual([]);
    expect(a.slice(1).map((r) => r.job.state)).toEqual(["available", "available"]);
    store.ack(a[0]!.id, null);
    expect(fetch().map((r) => r.id)).toEqual([a[1]!.id]);
  });

  it("a fetch passes over a limited job to the next eligible one, and the passed-over jobs keep their order", () => {
    const { store, job, fetch } = setup();
    const k1 = job({ key: "k", concurrency: 1 });
    const k2 = job({ key: "k", concurrency: 1 });
    const k3 = job({ key: "k", concurrency: 1 });
    const free = job();
    const other = job({ key: "other", concurrency: 1 });
    expect(fetch(1).map((r) => r.id)).toEqual([k1.id]);
    // k2 and k3 are limited: the next eligible jobs are taken instead.
    expect(fetch(5).map((r) => r.id)).toEqual([free.id, other.id]);
    store.ack(k1.id, null);
    expect(fetch(1).map((r) => r.id)).toEqual([k2.id]);
    store.ack(k2.id, null);
    expect(fetch(1).map((r) => r.id)).toEqual([k3.id]);
  });

  it("keys are independent; concurrency 0 pauses a key", () => {
    const { job, fetch } = setup();
    const a = job({ key: "a", concurrency: 1 });
    const b = job({ key: "b", concurrency: 1 });
    job({ key: "paused", concurrency: 0 });
    expect(
      fetch()
        .map((r) => r.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
  });

  it("every way out of active frees the slot: nack, lease expiry, cancel", () => {
    const { store, clock, job } = setup();
    const ids = [1, 2, 3, 4].map(() => job({ key: "k", concurrency: 1 }).id);
    const take = (visibilityTimeoutMs = 30_000) => store.fetch({ queues: ["q"], count: 5, workerId: "w", visibilityTimeoutMs }).map((r) => r.id);
    expect(take()).toEqual([ids[0]]);
    store.nack(ids[0]!, { code: "boom", message: "x" });
    expect(take(1000)).toEqual([ids[1]]);
    clock.advance(1500); // the lease of ids[1] runs out
    const next = take();
    expect(next).toHaveLength(1);
    store.cancel(next[0]!);
    expect(take()).toHaveLength(1);
    expect(store.rateLimits.inspect("k")).toMatchObject({ concurrency: { limit: 1, active: 1 } });
  });

  it("rate: at most `limit` starts within any period (sliding window)", () => {
    const { clock, job, fetch } = setup();
    for (let i = 0; i < 5; i++) job({ key: "r", rate: { limit: 2, period: "PT1S" } });
    expect(fetch()).toHaveLength(2);
    clock.advance(500);
    expect(fetch()).toHaveLength(0);
    clock.advance(501);
    expect(fetch()).toHaveLength(2);
    clock.advance(1001);
    expect(fetch()).toHaveLength(1);
  });

  it("throttle: starts at least period/limit apart", () => {
    const { clock, job, fetch } = setup();
    for (let i = 0; i < 3; i++) job({ key: "t", throttle: { limit: 4, period: 1000 } });
    expect(fetch()).toHaveLength(1);
    clock.advance(200);
    expect(fetch()).toHaveLength(0);
    clock.advance(50);
    expect(fetch()).toHaveLength(1);
  });

  it("says when a key is hit and when a job of it is released (rate_limit.exceeded / released), once each", () => {
    const { store, job, fetch, events } = setup();
    const a = job({ key: "k", concurrency: 1 });
    const b = job({ key: "k", concurrency: 1 });
    fetch();
    fetch();
    fetch();
    const types = () => events.filter((e) => e.type.startsWith("rate_limit.")).map((e) => e.type);
    expect(types()).toEqual(["rate_limit.exceeded"]);
    expect(events.find((e) => e.type === "rate_limit.exceeded")!.data).toMatchObject({ key: "k", strategy: "concurrency", limit: 1, current: 1 });
    store.ack(a.id, null);
    fetch();
    expect(types()).toEqual(["rate_limit.exceeded", "rate_limit.released"]);
    expect(events.find((e) => e.type === "rate_limit.released")!.data).toMatchObject({ key: "k", job_id: b.id });
  });

  it("a key is forgotten once its jobs are done and its windows have passed; a rate holds for jobs that trickle in", () => {
    const { store, clock, job, fetch } = setup();
    const a = job({ key: "r", rate: { limit: 1, period: 60_000 } });
    fetch();
    store.ack(a.id, null);
    expect(store.rateLimits.inspect("r")).toBeDefined();
    job({ key: "r", rate: { limit: 1, period: 60_000 } });
    expect(fetch()).toEqual([]);
    clock.advance(60_001);
    const [b] = fetch();
    expect(b).toBeDefined();
    store.ack(b!.id, null);
    expect(store.rateLimits.inspect("r")).toBeDefined(); // its window still holds
    clock.advance(60_001);
    expect(store.rateLimits.inspect("r")).toBeUndefined();
    const c = job({ key: "c", concurrency: 2 });
    fetch();
    store.ack(c.id, null);
    expect(store.rateLimits.inspect("c")).toBeUndefined();
  });

  it("an override of the concurrency (0 stops the key) holds until it expires, then the jobs' own limit again", () => {
    const { store, clock, job, fetch } = setup();
    for (let i = 0; i < 4; i++) job({ key: "k", concurrency: 2 });
    expect(store.rateLimits.overrideConcurrency("k", 0, clock.now() + 1000)).toMatchObject({ concurrency: { limit: 0 }, override: { concurrency: 0 } });
    expect(fetch()).toEqual([]);
    clock.advance(1000);
    expect(fetch()).toHaveLength(2);
    expect(store.rateLimits.overrideConcurrency("k", 3, Infinity)).toMatchObject({ concurrency: { limit: 3, active: 2 } });
    expect(fetch()).toHaveLength(1);
    expect(store.rateLimits.overrideConcurrency("nobody", 1, Infinity)).toBeUndefined();
  });

  it("a job retried from the dead letter is back under its key's limit", () => {
    const { store, job, fetch } = setup();
    const a = store.enqueue(
      normalizeJobRequest({
        type: "t.x",
        args: [],
        options: { queue: "q", retry: { maxAttempts: 1, onExhaustion: "dead_letter" }, rateLimit: { key: "k", concurrency: 1 } },
      }),
    );
    fetch();
    store.nack(a.id, { code: "boom", message: "x" });
    expect(store.get(a.id).job.state).toBe("discarded");
    const b = job({ key: "k", concurrency: 1 });
    expect(fetch().map((r) => r.id)).toEqual([b.id]);
    store.retryDeadLetter(a.id);
    expect(fetch()).toEqual([]); // b holds the key's one slot
    store.ack(b.id, null);
    expect(fetch().map((r) => r.id)).toEqual([a.id]);
    expect(store.rateLimits.inspect("k")).toMatchObject({ concurrency: { active: 1 }, waiting_count: 0 });
  });

  it("refuses on_limit reschedule and drop (not offered) before anything is stored", () => {
    const { store, job } = setup();
    expect(() => job({ key: "k", concurrency: 1, onLimit: "drop" })).toThrow(expect.objectContaining({ code: "unsupported" }));
    expect(store.countByState("q").available).toBe(0);
  });
});

describe("rate limits over HTTP", () => {
  const ctx = useServer();
  const post = async (path: string, body: unknown) => {
    const r = await fetch(new URL(path, ctx.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, headers: r.headers, json: (await r.json()) as any };
  };
  const get = async (path: string) => {
    const r = await fetch(new URL(path, ctx.url));
    return { status: r.status, headers: r.headers, json: (await r.json()) as any };
  };

  it("enqueue with rate_limit, inspect the key, X-RateLimit-* headers, list", async () => {
    const queue = uniqueQueue("rl");
    const key = `k-${queue}`;
    const rate_limit = { key, concurrency: 2, rate: { limit: 10, period: "PT1M" } };
    const e = await post("/ojs/v1/jobs", { type: "t.x", args: [], options: { queue, rate_limit } });
    expect(e.status).toBe(201);
    expect(e.headers.get("x-ratelimit-limit")).toBe("2");
    expect(e.headers.get("x-ratelimit-remaining")).toBe("2");
    await post("/ojs/v1/jobs", { type: "t.x", args: [], options: { queue, rate_limit } });
    await post("/ojs/v1/jobs", { type: "t.x", args: [], options: { queue, rate_limit } });
    const f = await post("/ojs/v1/workers/fetch", { queues: [queue], count: 10, worker_id: "w" });
    expect(f.json.jobs).toHaveLength(2);
    const s = await get(`/ojs/v1/rate-limits/${key}`);
    expect(s.status).toBe(200);
    expect(s.json).toMatchObject({
      key,
      concurrency: { limit: 2, active: 2, available: 0 },
      rate: { limit: 10, period: "PT1M" },
      waiting_count: 1,
      on_limit: "wait",
    });
    expect(s.headers.get("x-ratelimit-remaining")).toBe("0");
    const list = await get("/ojs/v1/rate-limits?per_page=1000");
    expect(list.json.items.map((i: { key: string }) => i.key)).toContain(key);
    expect(list.json.pagination).toMatchObject({ page: 1, per_page: 1000 });
    const held = (await get(`/ojs/v1/admin/jobs/${e.json.job.id}`)).json;
    expect(held.id).toBe(e.json.job.id);
  });

  it("PUT overrides a key's concurrency (admin), with an expiry; other fields are refused", async () => {
    const queue = uniqueQueue("rl-put");
    const key = `o-${queue}`;
    for (let i = 0; i < 3; i++) await post("/ojs/v1/jobs", { type: "t.x", args: [], options: { queue, rate_limit: { key, concurrency: 3 } } });
    const put = async (body: unknown) => {
      const r = await fetch(new URL(`/ojs/v1/rate-limits/${key}`, ctx.url), {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, json: (await r.json()) as any };
    };
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const r = await put({ concurrency: 0, expires_at: expires });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ key, concurrency: { limit: 0 }, override: { concurrency: 0, expires_at: expires } });
    expect((await post("/ojs/v1/workers/fetch", { queues: [queue], count: 10, worker_id: "w" })).json.jobs).toEqual([]);
    expect((await put({ concurrency: 1 })).status).toBe(200);
    expect((await post("/ojs/v1/workers/fetch", { queues: [queue], count: 10, worker_id: "w" })).json.jobs).toHaveLength(1);
    expect((await put({ concurrency: 1, rate: { limit: 1, period: "PT1S" } })).json.error.code).toBe("invalid_request");
    expect((await put({ concurrency: -1 })).status).toBe(400);
    expect((await put({ concurrency: 1, expires_at: "2001-01-01T00:00:00Z" })).json.error.message).toMatch(/expires_at/);
  });

  it("answers 404 for a key no job uses, and refuses bad policies by field name", async () => {
    expect((await get("/ojs/v1/rate-limits/nobody")).status).toBe(404);
    const bad = async (rate_limit: unknown) => (await post("/ojs/v1/jobs", { type: "t.x", args: [], options: { rate_limit } })).json.error;
    expect((await bad({ key: "bad key!", concurrency: 1 })).message).toMatch(/options\.rate_limit\.key/);
    expect((await bad({ key: "k" })).message).toMatch(/names no limit/);
    expect((await bad({ key: "k", concurrency: 1, burst: 3 })).message).toMatch(/options\.rate_limit/);
    expect((await bad({ key: "k", rate: { limit: 1, period: "soon" } })).message).toMatch(/options\.rate_limit\.rate\.period/);
    expect(await bad({ key: "k", concurrency: 1, on_limit: "drop" })).toMatchObject({ code: "unsupported" });
  });
});
