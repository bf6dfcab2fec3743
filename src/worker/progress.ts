import type { JsonObject } from "../model/json.js";
import type { ProgressUpdate, Transport } from "../transport/transport.js";

const MIN_INTERVAL_MS = 1000;

/**
 * Per-job progress reporter: at most one update a second, always the latest
 * value (updates in between are coalesced), fire-and-forget. A failed update
 * is ignored: progress must never affect the job (PRG §4).
 */
export class ProgressReporter {
  private pending: ProgressUpdate | undefined;
  private lastSent = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private stopped = false;

  constructor(
    private readonly transport: Transport,
    private readonly jobId: string,
  ) {}

  report(value: number | JsonObject): void {
    if (this.stopped) return;
    this.pending = normalizeProgress(value);
    this.schedule();
  }

  /** Drops anything not yet sent; called when the job ends. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private schedule(): void {
    if (this.timer || this.inFlight || !this.pending) return;
    const wait = Math.max(0, this.lastSent + MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
    // Progress must not keep a process alive on its own.
    this.timer.unref();
  }

  private flush(): void {
    const update = this.pending;
    if (!update || this.stopped) return;
    this.pending = undefined;
    this.inFlight = true;
    this.lastSent = Date.now();
    this.transport
      .reportProgress(this.jobId, update, { timeoutMs: 5000 })
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
        this.schedule();
      });
  }
}

/** 0..1 is a fraction, above 1 up to 100 a percentage; out of range (or not finite) is clamped, never thrown. */
export function normalizeProgress(value: number | JsonObject): ProgressUpdate {
  const clamp = (n: number) => (Number.isFinite(n) ? Math.min(1, Math.max(0, n > 1 ? n / 100 : n)) : 0);
  if (typeof value === "number") return { progress: clamp(value) };
  const out: ProgressUpdate = { data: value };
  if (typeof value.progress === "number") out.progress = clamp(value.progress);
  if (typeof value.message === "string") out.message = value.message;
  return out;
}
