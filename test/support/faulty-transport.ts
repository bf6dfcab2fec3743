import type { Transport } from "../../src/transport/transport.js";

type Op = "ack" | "nack" | "fetch" | "heartbeat" | "streamJobs" | "enqueue";

/**
 * Wraps a real transport (talking to a real server) and injects failures or
 * delays into chosen operations: the faults that a real server cannot be made
 * to produce on cue. Everything else goes through unchanged.
 */
export function faulty(inner: Transport) {
  const failures = new Map<Op, { error: () => unknown; times: number }>();
  const delays = new Map<Op, number>();
  const calls: Record<Op, number> = { ack: 0, nack: 0, fetch: 0, heartbeat: 0, streamJobs: 0, enqueue: 0 };
  let streamOverride: Transport["streamJobs"] | undefined;

  async function gate(op: Op): Promise<void> {
    calls[op]++;
    const d = delays.get(op);
    if (d) await new Promise((r) => setTimeout(r, d));
    const f = failures.get(op);
    if (f && f.times > 0) {
      f.times--;
      throw f.error();
    }
  }

  const transport: Transport = Object.create(inner) as Transport;
  Object.assign(transport, {
    ack: async (...a: Parameters<Transport["ack"]>) => (await gate("ack"), inner.ack(...a)),
    nack: async (...a: Parameters<Transport["nack"]>) => (await gate("nack"), inner.nack(...a)),
    fetch: async (...a: Parameters<Transport["fetch"]>) => (await gate("fetch"), inner.fetch(...a)),
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
    /** The next `times` calls of `op` fail with `error()`. */
    fail(op: Op, error: () => unknown, times = Infinity) {
      failures.set(op, { error, times });
    },
    heal(op: Op) {
      failures.delete(op);
    },
    delay(op: Op, ms: number) {
      delays.set(op, ms);
    },
    /** Replace what streamJobs yields (e.g. a stream that never pushes). */
    overrideStream(fn: Transport["streamJobs"]) {
      streamOverride = fn;
    },
  };
}
