/**
 * How a worker gets jobs for its free slots: a StreamJobs stream when the
 * transport has one (with a watchdog that cross-checks an idle stream and the
 * stall fallback to polling), otherwise fetch polling (long polls where the
 * server holds an empty fetch).
 */
import { UnimplementedError } from "../model/errors.js";
import type { Transport } from "../transport/transport.js";
import { Backoff, sleep } from "../util/backoff.js";
import type { EmitWorkerEvent } from "./events.js";
import type { ResolvedWorkerOptions } from "./options.js";
import type { JobSlots } from "./slots.js";
import type { StallFallback, StallPolicy } from "./stall-policy.js";

/** What the dispatcher needs from its worker. */
export interface DispatchHost {
  readonly transport: Transport;
  readonly queues: readonly string[];
  readonly workerId: string;
  readonly concurrency: number;
  readonly opts: ResolvedWorkerOptions;
  readonly stallPolicy: StallPolicy | undefined;
  readonly slots: JobSlots;
  readonly emit: EmitWorkerEvent;
  /** True while the worker takes new jobs. */
  fetching(): boolean;
  /** Aborted when the worker stops taking jobs (quiet or stopping); replaced when it resumes. */
  fetchSignal(): AbortSignal;
}

export class Dispatcher {
  constructor(private readonly h: DispatchHost) {}

  private get fetching(): boolean {
    return this.h.fetching();
  }

  private waitForSlot(): Promise<void> {
    return this.h.slots.waitForSlot(this.fetching);
  }

  /** Takes jobs until the worker stops fetching. */
  async run(): Promise<void> {
    const canStream = typeof this.h.transport.streamJobs === "function" && this.h.opts.dispatch !== "poll";
    while (canStream && this.fetching) {
      const r = await this.streamLoop();
      if (r === "unimplemented") break;
      if (r === undefined) return;
      // The stream stalled too often: poll for a while, say so once, then stream again.
      this.h.emit("dispatch.fallback", { from: "stream", to: "poll", reason: r.message, stalls: r.stalls, pollForMs: r.pollForMs });
      await this.pollLoop(Date.now() + r.pollForMs);
    }
    await this.pollLoop();
  }

  /**
   * Streams until the worker stops fetching (undefined), the server has no
   * StreamJobs ("unimplemented": poll for good), or the stream stalled too often
   * (the fallback to make).
   */
  private async streamLoop(): Promise<"unimplemented" | StallFallback | undefined> {
    const { h } = this;
    const backoff = new Backoff(100, 10_000);
    let attempt = 0;
    let fallback: StallFallback | undefined;
    while (this.fetching) {
      if (fallback) return fallback;
      await this.waitForSlot();
      if (!this.fetching) break;
      const streamAbort = new AbortController();
      const onStop = () => streamAbort.abort();
      h.fetchSignal().addEventListener("abort", onStop, { once: true });
      // Full credit even when jobs from an earlier stream are still running: jobs pushed
      // beyond the free slots wait in the backlog (at most `concurrency` of them), whereas
      // a smaller credit would leave slots idle until the stream is reopened.
      const max = h.concurrency;
      let inFlight = 0;
      // One credit callback for every job of this stream, not a closure per job.
      const released = () => void inFlight--;
      let lastJobAt = Date.now();
      let stalled = false;
      // The watchdog: an open stream that delivers nothing while slots are free is
      // cross-checked with a unary fetch. Work found that way means the stream is
      // stuck (some servers stop pushing after max_concurrent jobs): run that work
      // and reopen the stream.
      const watchdog = setInterval(() => {
        if (!this.fetching || h.slots.free <= 0 || Date.now() - lastJobAt < h.opts.watchdogIntervalMs) return;
        // Only while nothing from this stream is in flight: then the silence cannot be backpressure.
        if (inFlight > 0) return;
        const probe = h.slots.free;
        void this.fetchOnce(probe, streamAbort.signal).then((n) => {
          if (n > 0) {
            stalled = true;
            fallback = h.stallPolicy?.recordStall();
            streamAbort.abort();
          }
          lastJobAt = Date.now();
        });
      }, h.opts.watchdogIntervalMs);
      try {
        const stream = h.transport.streamJobs!(
          { queues: [...h.queues], workerId: h.workerId, maxConcurrent: max, visibilityTimeoutMs: h.opts.visibilityTimeoutMs },
          { signal: streamAbort.signal },
        );
        for await (const job of stream) {
          lastJobAt = Date.now();
          backoff.reset();
          attempt = 0;
          inFlight++;
          h.slots.accept(job, released);
        }
        if (!this.fetching) break;
        if (!stalled) {
          // The server ended the stream: reopen after a short pause.
          await sleep(backoff.next(), h.fetchSignal());
        }
      } catch (e) {
        if (!this.fetching) break;
        if (stalled) continue;
        if (e instanceof UnimplementedError) {
          h.emit("dispatch.fallback", { from: "stream", to: "poll", reason: e.message });
          return "unimplemented";
        }
        attempt++;
        const delayMs = backoff.next();
        h.emit("stream.reconnect", { attempt, delayMs, error: e });
        await sleep(delayMs, h.fetchSignal());
      } finally {
        clearInterval(watchdog);
        h.fetchSignal().removeEventListener("abort", onStop);
        streamAbort.abort();
      }
    }
    return undefined;
  }

  /** One unary fetch for up to `count` jobs; returns how many were taken. Errors are reported, not thrown. */
  private async fetchOnce(count: number, signal: AbortSignal): Promise<number> {
    const { h } = this;
    try {
      const jobs = await h.transport.fetch({ queues: [...h.queues], count, workerId: h.workerId, visibilityTimeoutMs: h.opts.visibilityTimeoutMs }, { signal });
      for (const job of jobs) h.slots.accept(job);
      return jobs.length;
    } catch (error) {
      if (!signal.aborted) h.emit("error", { error, context: "fetch" });
      return 0;
    }
  }

  /** Polls until the worker stops fetching, or until the time `until` (ms) when given. */
  private async pollLoop(until = Infinity): Promise<void> {
    const { h } = this;
    const idle = new Backoff(25, h.opts.pollIntervalMs);
    const failing = new Backoff(200, 30_000);
    while (this.fetching && Date.now() < until) {
      await this.waitForSlot();
      if (!this.fetching || Date.now() >= until) break;
      // A long poll ends by the deadline too.
      const waitMs = Math.min(h.opts.longPollMs, Math.max(0, Math.ceil(until - Date.now())));
      try {
        const asked = Date.now();
        const jobs = await h.transport.fetch(
          {
            queues: [...h.queues],
            count: h.slots.free,
            workerId: h.workerId,
            visibilityTimeoutMs: h.opts.visibilityTimeoutMs,
            ...(waitMs ? { waitMs } : {}),
          },
          { signal: h.fetchSignal() },
        );
        failing.reset();
        if (jobs.length > 0) {
          idle.reset();
          for (const job of jobs) h.slots.accept(job);
          continue;
        }
        // The server held the call (long poll) and nothing came: ask again at once.
        if (waitMs && Date.now() - asked >= waitMs * 0.8) continue;
        // Empty and answered at once (a server without long polling): back off, a little more each time.
        await this.sleepOrStop(Math.min(idle.next(), until - Date.now()));
      } catch (error) {
        if (!this.fetching) break;
        h.emit("error", { error, context: "fetch" });
        await sleep(Math.min(failing.next(), Math.max(0, until - Date.now())), h.fetchSignal());
      }
    }
  }

  private sleepOrStop(ms: number): Promise<void> {
    const signal = this.h.fetchSignal();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
