import type { Middleware } from "../worker/types.js";
import { toJobError } from "../worker/errors.js";

/**
 * Where metrics go: adapt it to prom-client, OpenTelemetry metrics, StatsD...
 * Labels are low-cardinality only (job type, queue, outcome, error code): never
 * job ids, args or messages.
 */
export interface MetricsRecorder {
  /** Adds one to a counter. */
  increment(name: string, labels: Record<string, string>): void;
  /** Records one value of a histogram. */
  observe(name: string, value: number, labels: Record<string, string>): void;
}

/** The metric names the metrics middleware records. */
export const METRIC_NAMES = {
  started: "ojs.jobs.started",
  completed: "ojs.jobs.completed",
  failed: "ojs.jobs.failed",
  timeout: "ojs.jobs.timeout",
  duration: "ojs.jobs.duration_ms",
} as const;

/** Counts started, completed, failed (and timed-out) jobs and observes their duration in ms. */
export function metrics(recorder: MetricsRecorder): Middleware {
  return async (ctx, next) => {
    const labels = { job_type: ctx.type, queue: ctx.queue };
    recorder.increment(METRIC_NAMES.started, labels);
    const t0 = performance.now();
    try {
      const r = await next();
      recorder.increment(METRIC_NAMES.completed, labels);
      recorder.observe(METRIC_NAMES.duration, performance.now() - t0, { ...labels, status: "completed" });
      return r;
    } catch (e) {
      const code = toJobError(e).code;
      recorder.increment(METRIC_NAMES.failed, { ...labels, error_code: code });
      if (code === "timeout") recorder.increment(METRIC_NAMES.timeout, labels);
      recorder.observe(METRIC_NAMES.duration, performance.now() - t0, { ...labels, status: "failed" });
      throw e;
    }
  };
}
