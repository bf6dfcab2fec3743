import type { Clock } from "../../src/server/store/clock.js";

/** A clock that only moves when told to, firing due timers in time order. */
export class FakeClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];

  constructor(public t = Date.UTC(2026, 0, 1, 0, 0, 0)) {}

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): { cancel(): void } {
    const e = { at: this.t + Math.max(0, ms), fn, cancelled: false };
    this.timers.push(e);
    return { cancel: () => void (e.cancelled = true) };
  }

  /** Live timers (not cancelled, not fired). */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.reduce<(typeof this.timers)[number] | undefined>((a, b) => (b.at <= end && (!a || b.at < a.at) ? b : a), undefined);
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}
