/**
 * Claims the journal records a little late. A claim (a fetch, a push to a
 * streaming worker) is never answered after it is durable: one lost in a
 * crash only means that the job is offered again. So it need not go into the
 * next group commit: held back for CLAIM_DELAY_MS at most, it is most often
 * overtaken by the job's next change (its ack, a few milliseconds later for a
 * short job), and the journal writes the job once, as it then is, instead of
 * twice: one record per drained job instead of two.
 *
 * Two generations, aged every half of the delay: a claim waits between half
 * the delay and all of it, then is written like any other change.
 */

/** The longest a claim waits before it is written (ms). */
export const CLAIM_DELAY_MS = 20;

export class LateClaims {
  private young = new Set<string>();
  private old = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `due` is given the ids whose wait is over (and must take them before it returns). */
  constructor(private readonly due: (ids: ReadonlySet<string>) => void) {}

  /** Claims waiting. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  add(id: string): void {
    this.young.add(id);
    if (this.timer === undefined) this.arm();
  }

  /** The job is being written now, for another change: its claim is in that record. */
  written(id: string): void {
    this.young.delete(id);
    this.old.delete(id);
  }

  /** Every claim still waiting, handed over now (the journal closes); no timer is left behind. */
  takeAll(): string[] {
    const all = [...this.old, ...this.young];
    this.clear();
    return all;
  }

  /** Forgets every waiting claim (the state was reset) and stops the timer. */
  clear(): void {
    this.young.clear();
    this.old.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    // Never keeps the process alive: close() takes what is left.
    this.timer = setTimeout(this.age, CLAIM_DELAY_MS / 2);
    this.timer.unref?.();
  }

  private readonly age = (): void => {
    this.timer = undefined;
    const due = this.old;
    this.old = this.young;
    this.young = due;
    if (due.size > 0) {
      this.due(due);
      due.clear();
    }
    if (this.old.size > 0) this.arm();
  };
}
