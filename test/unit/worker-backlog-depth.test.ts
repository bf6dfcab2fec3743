/**
 * A settle frees a slot, and a freed slot starts the next job from the
 * backlog at once. So execute() must wait (an await) between a handler's end
 * and its settle, even when the handler throws synchronously: otherwise each
 * job of the backlog would start inside the one before it, a recursion as deep
 * as the backlog. No server: a transport whose first fetch hands over far more
 * jobs than there are free slots (the backlog's worst case) and answers every
 * settle at once; the first jobs hold every slot until the others wait in
 * the backlog. (How deep such a recursion could go is bounded by the room for
 * settles in flight, the concurrency: hence a large one here.)
 */
import { describe, expect, it } from "vitest";
import { Worker } from "../../src/index.js";
import type { Job } from "../../src/model/job.js";
import type { Transport } from "../../src/transport/transport.js";

const JOBS = 2_000;
/** The concurrency, and the jobs that hold every slot until the others wait in the backlog. */
const SLOTS = 500;

function job(i: number): Job {
  return {
    id: `job-${i}`,
    type: i < SLOTS ? "t.holds" : "t.throws",
    queue: "q",
    args: [i],
    meta: {},
    state: "active",
    priority: 0,
    attempt: 1,
    errors: [],
    tags: [],
    specversion: "1.0",
  };
}

/** Only what a polling worker calls; everything else is absent on purpose. */
function transportHandingOver(n: number, onNack: () => void): Transport {
  let handed = false;
  const t = {
    fetch: async () => {
      if (handed) return new Promise<Job[]>((r) => setTimeout(() => r([]), 20));
      handed = true;
      return Array.from({ length: n }, (_, i) => job(i));
    },
    ack: async () => {},
    nack: async () => {
      onNack();
      return { state: "retryable" as const };
    },
    heartbeat: async () => ({ directive: "continue" as const }),
    close: async () => {},
  };
  return t as unknown as Transport;
}

describe("a backlog of jobs whose handlers throw synchronously", () => {
  it("runs them one after another, not each inside the one before (constant stack depth)", async () => {
    let nacked = 0;
    let allNacked!: () => void;
    const done = new Promise<void>((r) => (allNacked = r));
    const w = new Worker({
      transport: transportHandingOver(JOBS, () => ++nacked === JOBS - SLOTS && allNacked()),
      queues: ["q"],
      concurrency: SLOTS,
      dispatch: "poll",
      handleSignals: false,
      logger: false,
    });
    const depths: number[] = [];
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = Infinity;
    const release = new Promise<void>((r) => setTimeout(r, 50));
    w.register("t.holds", () => release);
    w.register("t.throws", () => {
      depths.push(new Error().stack!.split("\n").length);
      throw new Error("synchronous failure");
    });
    try {
      void w.start();
      await done;
    } finally {
      Error.stackTraceLimit = limit;
      await w.stop({ gracePeriodMs: 0 });
    }
    expect(depths.length).toBe(JOBS - SLOTS);
    // Each job starts from a microtask of the one before: the same few frames every time.
    expect(Math.max(...depths) - Math.min(...depths)).toBeLessThan(20);
  });
});
