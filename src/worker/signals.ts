/**
 * SIGTERM/SIGINT handling (handleSignals): the first signal stops the worker
 * gracefully and arms the hard deadline; a second one forces the stop.
 */
import { JobAbortedError } from "./errors.js";
import type { HardDeadline } from "./hard-deadline.js";

/** What the signal handling needs from its worker. */
export interface SignalHost {
  readonly deadline: HardDeadline;
  readonly hardDeadlineMs: number;
  /** Aborted to skip the rest of the grace period. */
  readonly hardAbort: AbortController;
  /** The graceful stop; the same promise on every call. */
  stop(): Promise<void>;
}

export class SignalTrap {
  private handler: ((sig: NodeJS.Signals) => void) | undefined;
  private count = 0;

  constructor(private readonly h: SignalHost) {}

  install(): void {
    const { h } = this;
    this.handler = (sig) => {
      this.count++;
      if (this.count === 1) {
        void h.stop();
        h.deadline.arm(h.hardDeadlineMs);
      } else {
        // A second signal means "now": skip the rest of the grace period, then end the
        // process if handlers are still running (after a moment for their nacks to go out).
        h.hardAbort.abort(new JobAbortedError(`forced stop by second ${sig}`));
        const settled = setTimeout(() => h.deadline.force("second_signal"), 1_000);
        settled.unref();
        void h.stop().then(() => {
          clearTimeout(settled);
          h.deadline.force("second_signal");
        });
      }
    };
    process.on("SIGTERM", this.handler);
    process.on("SIGINT", this.handler);
  }

  remove(): void {
    if (!this.handler) return;
    process.off("SIGTERM", this.handler);
    process.off("SIGINT", this.handler);
    this.handler = undefined;
  }
}
