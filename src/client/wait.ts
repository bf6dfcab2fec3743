/**
 * client.waitForJob(): the job once it reaches a terminal state. Event driven
 * where the server has an event stream (any event for the job triggers a read),
 * polling where it has none; a slow poll runs beside the stream too, so that an
 * event lost between the first read and the subscription costs seconds, not
 * forever. Uses only Client operations, so it works the same over every transport.
 */
import { AbortError, OjsError, TimeoutError, UnimplementedError, ValidationError } from "../model/errors.js";
import type { OjsEvent } from "../model/events.js";
import { TERMINAL_STATES, type Job } from "../model/job.js";
import type { CallOptions } from "../transport/transport.js";
import { Backoff } from "../util/backoff.js";
import type { EventsOptions } from "./events.js";

/** Options of client.waitForJob(). */
export interface WaitForJobOptions {
  /** Stops waiting: the promise rejects with AbortError. */
  signal?: AbortSignal;
  /** Longest wait; the promise rejects with TimeoutError after it. Default: no limit. */
  timeoutMs?: number;
  /** Longest pause between two reads of the job when the server has no event stream; default 1 000 ms. */
  pollIntervalMs?: number;
}

/** What waitForJob needs from a Client. */
export interface JobSource {
  getJob(id: string, call?: CallOptions): Promise<Job>;
  events(opts: EventsOptions): AsyncIterable<OjsEvent>;
}

/** With a working event stream, the job is still read this often in case an event was missed. */
const SAFETY_POLL_MS = 5_000;

export async function waitForJob(src: JobSource, id: string, opts: WaitForJobOptions = {}): Promise<Job> {
  const { signal, timeoutMs } = opts;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new ValidationError(`timeoutMs: must be a positive number, got ${timeoutMs}`, { operation: "waitForJob" });
  const pollMax = opts.pollIntervalMs ?? 1_000;
  if (!(Number.isFinite(pollMax) && pollMax > 0))
    throw new ValidationError(`pollIntervalMs: must be a positive number, got ${opts.pollIntervalMs}`, { operation: "waitForJob" });
  if (signal?.aborted) throw new AbortError(`waitForJob(${id}) aborted`, { operation: "waitForJob", jobId: id });

  const local = new AbortController();
  const onAbort = () => local.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          local.abort();
        }, timeoutMs);

  let wake: (() => void) | undefined;
  // An event that came while the job was being read: read it again at once.
  let poked = false;
  const notify = () => {
    if (wake) wake();
    else poked = true;
  };
  let noStream = false;
  // Subscribed before the first read: an event between the two is not lost.
  const listening = (async () => {
    try {
      for await (const e of src.events({ jobId: id, signal: local.signal })) if (e.jobId === id || e.jobId === undefined) notify();
    } catch {
      // No event stream (UnimplementedError) or one that refuses us: polling alone will do.
    }
    noStream = true;
    notify();
  })();

  // Quick reads first (the stream may not be open yet when the job finishes), then further apart.
  const polling = new Backoff(50, pollMax);
  const beside = new Backoff(50, Math.max(SAFETY_POLL_MS, pollMax));
  let last: Job | undefined;
  try {
    for (;;) {
      try {
        last = await src.getJob(id, { signal: local.signal });
        if (TERMINAL_STATES.has(last.state)) return last;
      } catch (e) {
        if (local.signal.aborted) break;
        // Not found, bad credentials...: waiting longer will not help. Unreachable or 5xx: keep trying.
        if (!(e instanceof OjsError) || !e.retryable || e instanceof UnimplementedError) throw e;
      }
      if (local.signal.aborted) break;
      if (poked) {
        poked = false;
        continue;
      }
      const pause = noStream ? polling.next() : beside.next();
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          local.signal.removeEventListener("abort", done);
          wake = undefined;
          resolve();
        };
        const t = setTimeout(done, pause);
        wake = done;
        local.signal.addEventListener("abort", done, { once: true });
      });
      if (local.signal.aborted) break;
    }
    if (timedOut)
      throw new TimeoutError(`job ${id} did not reach a terminal state within ${timeoutMs} ms${last ? ` (last seen: ${last.state})` : ""}`, {
        operation: "waitForJob",
        jobId: id,
      });
    throw new AbortError(`waitForJob(${id}) aborted${last ? ` (last seen: ${last.state})` : ""}`, { operation: "waitForJob", jobId: id });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    local.abort();
    await listening;
  }
}
