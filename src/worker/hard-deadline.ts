/**
 * The end of a worker's shutdown on a signal. The grace period ends the jobs a
 * worker can end (their signals abort, the server is told to retry them), but
 * a handler that ignores its signal keeps running and can keep the process
 * alive for as long as it likes. When the worker owns the process's signals,
 * a second signal or the hard deadline ends the process, after saying which
 * jobs were abandoned (an event and a log line on stderr).
 */
import type { Job } from "../model/job.js";

/** Why a worker stopped waiting for running handlers: its grace period ran out, a second signal came, or the hard deadline passed (the process then exits). */
export type AbandonReason = "grace_period" | "second_signal" | "hard_deadline";

/** The `abandoned` event of a Worker: which jobs it stopped waiting for, and why. */
export interface AbandonedReport {
  workerId: string;
  /** Jobs whose handlers were still running; each was nacked (or is left to its lease) for another worker. */
  jobs: Job[];
  reason: AbandonReason;
}

/** Exit code of a process a worker ends itself: the shutdown did not finish cleanly. */
export const FORCED_EXIT_CODE = 1;

export function abandonedLine(r: AbandonedReport): string {
  const list = r.jobs.map((j) => `${j.id} (${j.type})`).join(", ");
  const why = r.reason === "hard_deadline" ? "hard deadline reached" : r.reason === "second_signal" ? "second signal" : "grace period over";
  return `ojs-connect worker ${r.workerId}: ${why}; ${r.jobs.length} job(s) still running were abandoned: ${list}`;
}

/**
 * One shutdown's timers. `arm()` starts the hard deadline; `force()` ends the
 * process at once if handlers of this worker are still running. Timers are
 * unref'd: they never keep a process alive on their own.
 */
export class HardDeadline {
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly running: () => Job[],
    private readonly report: (r: Omit<AbandonedReport, "workerId">) => void,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  /** From the first signal: after `ms` (0: never), end the process if handlers still run. */
  arm(ms: number): void {
    if (ms <= 0 || this.timer || this.done) return;
    this.timer = setTimeout(() => this.force("hard_deadline"), ms);
    this.timer.unref();
  }

  /**
   * Ends the process now if this worker's handlers are still running. With none
   * running, whatever keeps the process alive is not the worker's: it is left alone.
   */
  force(reason: Exclude<AbandonReason, "grace_period">): void {
    if (this.done) return;
    const jobs = this.running();
    if (jobs.length === 0) return;
    this.done = true;
    this.cancel();
    this.report({ jobs, reason });
    this.exit(FORCED_EXIT_CODE);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
