/** Time as the store sees it; tests and fake mode swap in a virtual clock. */
export interface Clock {
  now(): number;
  /** Runs fn after ms; the timer must not keep the process alive. */
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
