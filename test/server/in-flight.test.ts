/** Push streams that cannot hoard, driven through the store with a fake clock (src/server/store/in-flight.ts). */
import { describe, expect, it } from "vitest";
import type { OjsEvent } from "../../src/model/events.js";
import { Store, type Consumer, type JobRecord, type StoreOptions } from "../../src/server/store/store.js";
import { FakeClock } from "./fake-clock.js";

function setup(opts: StoreOptions = {}) {
  const clock = new FakeClock();
  const store = new Store({ clock, random: () => 0.5, visibilityTimeoutMs: 1000, ...opts });
  const events: OjsEvent[] = [];
  store.events.subscribe((e) => events.push(e));
  const jobs = (n: number, maxAttempts = 1) => Array.from({ length: n }, () => store.enqueue({ type: "t.x", args: [], queue: "q", retry: { maxAttempts } }));
  const stream = (workerId: string, maxConcurrent: number, queues = ["q"]) => {
    const got: JobRecord[] = [];
    const stale: string[] = [];
    const consumer = store.openConsumer({ queues, workerId, maxConcurrent, deliver: (r) => got.push(r), onStale: (why) => stale.push(why) });
    return { got, stale, consumer };
  };
  const reclaims = (charged: boolean) => events.filter((e) => e.type === "job.reclaimed" && (e.data as { charged?: boolean }).charged === charged).length;
  return { clock, store, jobs, stream, reclaims };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("a stream whose jobs go unacknowledged", () => {
  it("is closed at the first expired lease and gets no more jobs; its unstarted jobs cost no attempt", async () => {
    const { clock, jobs, stream, reclaims } = setup();
    const all = jobs(10);
    const s = stream("w1", 3);
    expect(s.got).toHaveLength(3);
    clock.advance(1000);
    await flush();
    expect(s.stale).toEqual(["lease"]);
    expect(s.consumer.closed).toBe(true);
    // Before: the freed credit went back to the silent stream, which got 3 more, each costing an attempt.
    expect(s.got).toHaveLength(3);
    expect(reclaims(false)).toBe(3);
    expect(all.every((r) => r.job.state === "available" && r.job.attempt === 0 && r.job.errors.length === 0)).toBe(true);
  });

  it("a started job (start call or heartbeat) is charged when its lease runs out", async () => {
    const { clock, store, jobs, stream, reclaims } = setup();
    const [a, b] = jobs(2, 3);
    stream("w1", 2);
    store.markStarted([a!.id], "w1");
    clock.advance(1000);
    await flush();
    expect(reclaims(true)).toBe(1);
    expect(a!.job).toMatchObject({ state: "available", attempt: 1 });
    expect(a!.job.errors[0]).toMatchObject({ code: "visibility_timeout" });
    expect(b!.job).toMatchObject({ state: "available", attempt: 0 });
  });

  it("a worker without start calls: its heartbeat is the start signal; with them, a heartbeat only extends", async () => {
    const { clock, store, jobs, stream } = setup();
    const [a] = jobs(1, 3);
    stream("plain", 1);
    store.heartbeat({ workerId: "plain", jobIds: [a!.id] });
    expect(a!.started).toBe(true);
    const [b, c] = jobs(2, 3);
    stream("fast", 2);
    store.markStarted([b!.id], "fast");
    store.heartbeat({ workerId: "fast", jobIds: [b!.id, c!.id] });
    expect(b!.started).toBe(true);
    expect(c!.started).toBe(false);
    clock.advance(0);
  });

  it("a job that never gets started is free only so many times: a job that kills its worker cannot loop for ever", async () => {
    const { clock, jobs, stream, reclaims } = setup({ inFlight: { freeReclaims: 2 } });
    const [rec] = jobs(1, 1);
    for (let i = 0; i < 2; i++) {
      stream(`w${i}`, 1);
      clock.advance(1000);
      await flush();
    }
    expect(reclaims(false)).toBe(2);
    expect(rec!.job.state).toBe("available");
    stream("w9", 1);
    clock.advance(1000);
    expect(rec!.job.state).toBe("discarded");
  });
});

describe("caps on jobs in flight", () => {
  it("per stream: max_concurrent is clamped", () => {
    const { jobs, stream } = setup({ inFlight: { perStream: 4 } });
    jobs(10);
    expect(stream("w1", 1000).got).toHaveLength(4);
  });

  it("per worker: over all its streams and fetches; settling one makes room again", async () => {
    const { store, jobs, stream } = setup({ inFlight: { perWorker: 5 } });
    jobs(20);
    const a = stream("w1", 3, ["q"]);
    const b = stream("w1", 3, ["q", "other"]);
    expect(a.got.length + b.got.length).toBe(5);
    expect(store.fetch({ queues: ["q"], workerId: "w1", count: 10 })).toHaveLength(0);
    expect(store.fetch({ queues: ["q"], workerId: "w2", count: 2 })).toHaveLength(2);
    store.ack(a.got[0]!.id, undefined, "w1");
    await flush();
    expect(a.got.length + b.got.length).toBe(6);
  });
});

describe("a worker that reconnects", () => {
  it("its new stream over the same queues replaces the old one, which gets no more jobs", async () => {
    const { store, jobs, stream } = setup();
    jobs(10);
    const old = stream("w1", 2);
    const fresh = stream("w1", 2);
    expect(old.stale).toEqual(["superseded"]);
    expect(fresh.got).toHaveLength(2);
    // An ack of a job the old stream received frees credit, but never for the old stream.
    store.ack(old.got[0]!.id, undefined, "w1");
    await flush();
    expect(old.got).toHaveLength(2);
    const other: Consumer = stream("w1", 1, ["elsewhere"]).consumer;
    expect(other.closed).toBe(false);
    expect(fresh.consumer.closed).toBe(false);
  });
});

describe("streams without a worker id", () => {
  it("are many clients, not one worker: no shared cap, no replacing each other", () => {
    const { jobs, stream } = setup({ inFlight: { perWorker: 2 } });
    jobs(10);
    const a = stream("anonymous", 3);
    const b = stream("anonymous", 3);
    expect(a.got.length + b.got.length).toBe(6);
    expect(a.stale).toEqual([]);
    expect(a.consumer.closed).toBe(false);
  });
});
