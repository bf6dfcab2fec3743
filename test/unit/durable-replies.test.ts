/**
 * DurableReplies (src/server/grpc/durable-replies.ts): the answers of a fast-path
 * call stream leave in the order of their frames, each after the durability
 * barrier that covers it; a frame whose outcomes are all known at once, with
 * nothing ahead of it and nothing to wait for, is answered in the same tick
 * (after one microtask, so that a push its calls caused goes first); the call
 * ends only after every answer, when the client half-closes early.
 */
import { describe, expect, it } from "vitest";
import { DurableReplies, type ReplyCall } from "../../src/server/grpc/durable-replies.js";

type Outcome = { seq: number; error?: string };

function recorder() {
  const log: string[] = [];
  const call: ReplyCall = {
    send: (b) => void log.push(`send ${Buffer.from(b).toString()}`),
    fail: (e) => void log.push(`fail ${String(e)}`),
    end: () => void log.push("end"),
  };
  return { log, call };
}

const encode = (os: Outcome[]) => Buffer.from(os.map((o) => (o.error ? `${o.seq}!${o.error}` : String(o.seq))).join(","));
const unavailable = (os: Outcome[], e: unknown) => os.map((o) => (o.error ? o : { seq: o.seq, error: String(e) }));
const tick = () => new Promise<void>((r) => setImmediate(r));

describe("DurableReplies", () => {
  it("answers a frame of known outcomes in the same tick, after the microtasks queued before it", async () => {
    const { log, call } = recorder();
    const r = new DurableReplies({ durable: () => undefined }, call);
    // The store's dispatch of the job the calls made available, queued while they were issued.
    queueMicrotask(() => log.push("push"));
    r.send<Outcome>([{ seq: 1 }, { seq: 2 }], encode, unavailable);
    expect(log).toEqual([]);
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(["push", "send 1,2"]);
    r.send<Outcome>([{ seq: 3 }], encode, unavailable);
    await Promise.resolve();
    expect(log).toEqual(["push", "send 1,2", "send 3"]);
  });

  it("keeps frame order when a known frame follows one still waiting", async () => {
    const { log, call } = recorder();
    const r = new DurableReplies({ durable: () => undefined }, call);
    let answer!: (o: Outcome) => void;
    r.send<Outcome>([new Promise<Outcome>((res) => (answer = res))], encode, unavailable);
    r.send<Outcome>([{ seq: 2 }], encode, unavailable);
    await tick();
    expect(log).toEqual([]);
    answer({ seq: 1 });
    await tick();
    expect(log).toEqual(["send 1", "send 2"]);
  });

  it("waits for the durability barrier, and answers unavailable when it fails", async () => {
    const { log, call } = recorder();
    let barrier: Promise<void> | undefined;
    let release!: () => void;
    let refuse!: (e: unknown) => void;
    const r = new DurableReplies({ durable: () => barrier }, call);
    barrier = new Promise<void>((res) => (release = res));
    r.send<Outcome>([{ seq: 1 }], encode, unavailable);
    await tick();
    expect(log).toEqual([]);
    release();
    await tick();
    expect(log).toEqual(["send 1"]);
    barrier = new Promise<void>((_, rej) => (refuse = rej));
    r.send<Outcome>([{ seq: 2 }, { seq: 3, error: "own" }], encode, unavailable);
    refuse("disk");
    await tick();
    expect(log).toEqual(["send 1", "send 2!disk,3!own"]);
  });

  it("ends the call after the answers still waiting when the client half-closes", async () => {
    for (const known of [true, false]) {
      const { log, call } = recorder();
      const r = new DurableReplies({ durable: () => undefined }, call);
      r.send<Outcome>([known ? { seq: 1 } : Promise.resolve({ seq: 1 })], encode, unavailable);
      r.end();
      expect(log).toEqual([]);
      await tick();
      expect(log).toEqual(["send 1", "end"]);
    }
    const { log, call } = recorder();
    new DurableReplies({ durable: () => undefined }, call).end();
    expect(log).toEqual(["end"]); // nothing waiting: at once
  });

  it("fails the call, not the process, when a frame cannot be encoded", async () => {
    const { log, call } = recorder();
    const r = new DurableReplies({ durable: () => undefined }, call);
    r.send<Outcome>(
      [{ seq: 1 }],
      () => {
        throw new Error("cannot encode");
      },
      unavailable,
    );
    r.end();
    await tick();
    expect(log).toEqual(["fail Error: cannot encode", "end"]);
  });
});
