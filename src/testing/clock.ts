import type { Duration } from "../model/duration.js";
import { toMillis } from "../model/duration.js";
import { ValidationError } from "../model/errors.js";
import type { Clock, TimerHandle } from "../server/store/clock.js";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that stands still until told to move. Timers set on it (delayed and
 * retrying jobs becoming due, leases and execution timeouts running out, cron
 * runs) fire, in time order, only inside advance() or set(): never on their
 * own, so nothing waits in real time and nothing keeps the process alive.
 *
 * Every fake has one; pass one to startTestServer({ clock }) to drive a real
 * server's time the same way.
 */
export class VirtualClock implements Clock {
  private t: number;
  private timers: Timer[] = [];
  private seq = 0;
  private disposed = false;

  constructor(start: Date | number | string = Date.now()) {
    this.t = instant(start, "start");
  }

  /** The virtual time, in ms since the epoch. */
  now(): number {
    return this.t;
  }

  /** Runs fn when the virtual time passes `ms` from now; `cancel()` stops it. */
  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.t + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: this.seq++, fn, live: !this.disposed };
    if (timer.live) this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  /** Moves time forward by `by` (ms or ISO 8601, e.g. "PT5M"), firing what falls due on the way. Returns the new time. */
  advance(by: Duration): Date {
    const ms = toMillis(by);
    if (ms === undefined) throw new ValidationError(`advanceTime: ${JSON.stringify(by)} is not a duration (milliseconds >= 0 or ISO 8601 such as "PT5M")`);
    return this.runUntil(this.t + ms);
  }

  /**
   * Sets the time. Forward, timers due by then fire on the way; backward, they
   * wait until time passes their instant again.
   */
  set(to: Date | number | string): Date {
    const target = instant(to, "freezeTime");
    if (target <= this.t) {
      this.t = target;
      return new Date(this.t);
    }
    return this.runUntil(target);
  }

  /** When the earliest live timer fires, if any. */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const tm of this.timers) if (tm.live && (next === undefined || tm.at < next)) next = tm.at;
    return next;
  }

  /** Drops every timer; later timers are ignored. Nothing set on this clock fires afterwards. */
  dispose(): void {
    this.disposed = true;
    for (const tm of this.timers) tm.live = false;
    this.timers = [];
  }

  private runUntil(target: number): Date {
    if (this.disposed) throw new ValidationError("the virtual clock is disposed (its fake or server was closed)");
    for (;;) {
      this.timers = this.timers.filter((tm) => tm.live);
      let next: Timer | undefined;
      for (const tm of this.timers) if (tm.at <= target && (!next || tm.at < next.at || (tm.at === next.at && tm.seq < next.seq))) next = tm;
      if (!next) break;
      next.live = false;
      // The owner sees the instant its timer was set for, as a real clock would show it.
      this.t = Math.max(this.t, next.at);
      next.fn();
      if (this.disposed) return new Date(this.t);
    }
    this.t = Math.max(this.t, target);
    return new Date(this.t);
  }
}

function instant(v: Date | number | string, what: string): number {
  const ms = v instanceof Date ? v.getTime() : typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new ValidationError(`${what}: ${String(v)} is not a valid instant (a Date, epoch milliseconds or an ISO 8601 date-time)`);
  return ms;
}
