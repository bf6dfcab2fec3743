/** A pending timer of a Clock. */
export interface TimerHandle {
  /** Stops the timer; it will not run. */
  cancel(): void;
}

/** Time as the store sees it; tests and fake mode swap in a virtual clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn after ms; the timer must not keep the process alive. `cancel()` stops it. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    // Node fires anything past 2^31-1 ms at once (with a warning): cap it, and the owner re-arms when it fires early.
    const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
