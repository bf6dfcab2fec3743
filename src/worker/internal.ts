import type { Transport } from "../transport/transport.js";
import type { JobContext } from "./types.js";

/**
 * Hooks for other parts of this package (the testing toolkit), not for users:
 * symbol-keyed so they stay off the Worker's public surface.
 */
export const kRunJob: unique symbol = Symbol("ojs-connect.worker.runJob");

/** How Worker[kRunJob] runs a job outside the worker's own dispatch. */
export interface RunJobOptions {
  /** Aborts ctx.signal with its reason. */
  signal?: AbortSignal;
  /**
   * What ctx.progress(), ctx.heartbeat() and ctx.abort() do instead of using the
   * worker's transport and timers (which may point at a server that is not
   * there). Absent: progress is dropped, heartbeat does nothing, abort only
   * aborts ctx.signal.
   */
  context?: Partial<Pick<JobContext<unknown>, "progress" | "heartbeat" | "abort">>;
  /** Where ctx.checkpoint() and ctx.lastCheckpoint() go instead of the worker's transport. */
  checkpointTransport?: Transport;
}
