import type { Job } from "../../src/model/job.js";
import type { CallOptions, Transport } from "../../src/transport/transport.js";

type Op = "ack" | "nack" | "fetch" | "heartbeat" | "streamJobs" | "enqueue";

const ops = (): Record<Op, number> => ({ ack: 0, nack: 0, fetch: 0, heartbeat: 0, streamJobs: 0, enqueue: 0 });

/**
 * Wraps a real transport (talking to a real server) and injects failures or
 * delays into chosen operations: the faults that a real server cannot be made
 * to produce on cue. Everything else goes through unchanged.
 *
 * Every fault it injects is counted (`injected`, `late`, `overdelivered`), so
 * a test can show that its fault really happened: a fault test whose fault
 * never fired proves nothing, and must fail.
 */
export function faulty(inner: Transport) {
  const failures = new Map<Op, { error: () => unknown; times: number }>();
  const delays = new Map<Op, number>();
  /** Per operation: the server has the call at once, its answer reaches the caller this much later. */
  const answerDelays = new Map<Op, number>();
  /** Answers held back by answerLate, per operation. */
  const heldAnswers = ops();
  /** Per operation: every answer waits for this promise (holdAnswers, releaseAnswers). */
  const answerGates = new Map<Op, { promise: Promise<void>; release: () => void }>();
  /** Calls whose answer (or error) has not reached the caller yet, per operation: now, and the most at once. */
  const inFlight = ops();
  const peakInFlight = ops();
  /** Calls made, per operation. */
  const calls = ops();
  /** Errors thrown by the wrapper (not by the server), per operation. */
  const injected = ops();
  /** Fetch answers handed to a caller that had already aborted, and the jobs in them. */
  const late = { answers: 0, jobs: 0 };
  /** Jobs handed over beyond what the caller asked for. */
  const overdelivered = { calls: 0, jobs: 0 };
  let heldAnswerMs = 0;
  let extraJobs = 0;
  /** Resolves each time the server has answered a held fetch (its jobs are claimed). */
  let onClaimed: ((jobs: Job[]) => void) | undefined;
  let streamOverride: Transport["streamJobs"] | undefined;

  async function gate(op: Op): Promise<void> {
    calls[op]++;
    const d = delays.get(op);
    if (d) await new Promise((r) => setTimeout(r, d));
    const f = failures.get(op);
    if (f && f.times > 0) {
      f.times--;
      injected[op]++;
      throw f.error();
    }
  }

  async function fetch(req: Parameters<Transport["fetch"]>[0], opts?: CallOptions): Promise<Job[]> {
    await gate("fetch");
    const asked = { ...req, count: req.count + extraJobs };
    if (!heldAnswerMs) {
      const jobs = await inner.fetch(asked, opts);
      noteOverdelivery(req.count, jobs.length);
      return jobs;
    }
    // The answer is already on its way when the caller gives up: the server has claimed
    // the jobs (the call is sent without the caller's signal), and the answer arrives
    // after a while whether or not the caller aborted meanwhile.
    const { signal: _dropped, ...rest } = opts ?? {};
    const jobs = await inner.fetch(asked, rest);
    onClaimed?.(jobs);
    await new Promise((r) => setTimeout(r, heldAnswerMs));
    if (opts?.signal?.aborted && jobs.length > 0) {
      late.answers++;
      late.jobs += jobs.length;
    }
    noteOverdelivery(req.count, jobs.length);
    return jobs;
  }

  async function answered<T>(op: Op, answer: T): Promise<T> {
    const d = answerDelays.get(op);
    if (d) {
      heldAnswers[op]++;
      await new Promise((r) => setTimeout(r, d));
    }
    const held = answerGates.get(op);
    if (held) {
      heldAnswers[op]++;
      await held.promise;
    }
    return answer;
  }

  /** Counts the call in `inFlight` from the moment it is made until its caller has the answer or the error. */
  async function tracked<T>(op: Op, call: () => Promise<T>): Promise<T> {
    peakInFlight[op] = Math.max(peakInFlight[op], ++inFlight[op]);
    try {
      return await call();
    } finally {
      inFlight[op]--;
    }
  }

  function noteOverdelivery(askedFor: number, got: number): void {
    if (got <= askedFor) return;
    overdelivered.calls++;
    overdelivered.jobs += got - askedFor;
  }

  const transport: Transport = Object.create(inner) as Transport;
  Object.assign(transport, {
    ack: (...a: Parameters<Transport["ack"]>) => tracked("ack", async () => (await gate("ack"), answered("ack", await inner.ack(...a)))),
    nack: (...a: Parameters<Transport["nack"]>) => tracked("nack", async () => (await gate("nack"), answered("nack", await inner.nack(...a)))),
    fetch,
    heartbeat: async (...a: Parameters<Transport["heartbeat"]>) => (await gate("heartbeat"), inner.heartbeat(...a)),
    enqueue: async (...a: Parameters<Transport["enqueue"]>) => (await gate("enqueue"), inner.enqueue(...a)),
    close: () => inner.close(),
  });
  if (inner.streamJobs) {
    transport.streamJobs = async function* (req, opts) {
      await gate("streamJobs");
      yield* (streamOverride ?? inner.streamJobs!.bind(inner))(req, opts);
    };
  }

  return {
    transport,
    calls,
    injected,
    late,
    overdelivered,
    heldAnswers,
    inFlight,
    peakInFlight,
    /** Every call of `op` reaches the server at once; its answer reaches the caller `ms` later (counted in `heldAnswers`). */
    answerLate(op: Op, ms: number) {
      answerDelays.set(op, ms);
    },
    /** Every call of `op` reaches the server at once; its answer reaches the caller only after releaseAnswers(op) (counted in `heldAnswers`). */
    holdAnswers(op: Op) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      answerGates.set(op, { promise, release });
    },
    releaseAnswers(op: Op) {
      answerGates.get(op)?.release();
      answerGates.delete(op);
    },
    /** The next `times` calls of `op` fail with `error()`. */
    fail(op: Op, error: () => unknown, times = Infinity) {
      failures.set(op, { error, times });
    },
    heal(op: Op) {
      failures.delete(op);
    },
    /** Every call of `op` waits `ms` before it is sent. */
    delay(op: Op, ms: number) {
      delays.set(op, ms);
    },
    /**
     * Every fetch reaches the server at once, but its answer reaches the caller
     * `ms` later, even when the caller aborted meanwhile (counted in `late`).
     * `claimed()` resolves when the server has answered the next such fetch.
     */
    holdFetchAnswers(ms: number) {
      heldAnswerMs = ms;
    },
    claimed(): Promise<Job[]> {
      return new Promise((resolve) => (onClaimed = resolve));
    },
    /** Every fetch asks the server for `extra` more jobs than the caller wanted (counted in `overdelivered`). */
    overdeliver(extra: number) {
      extraJobs = extra;
    },
    /** Replace what streamJobs yields (e.g. a stream that never pushes). */
    overrideStream(fn: Transport["streamJobs"]) {
      streamOverride = fn;
    },
  };
}
