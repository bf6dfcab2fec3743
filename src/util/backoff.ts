/** Jittered exponential backoff: base * 2^n capped at max, each delay drawn from [d/2, d). */
export class Backoff {
  private n = 0;
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const d = Math.min(this.maxMs, this.baseMs * 2 ** this.n);
    if (d < this.maxMs) this.n++;
    return d / 2 + (this.random() * d) / 2;
  }

  reset(): void {
    this.n = 0;
  }

  get attempts(): number {
    return this.n;
  }
}

/** Resolves after ms, or early (without rejecting) when the signal aborts. The timer never outlives the wait. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
