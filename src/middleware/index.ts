/**
 * Built-in execution middleware for Worker.use(), outermost first:
 *
 * ```ts
 * worker.use(logging()).use(metrics(recorder)).use(recovery({ onError: report })).use(timeout(30_000));
 * ```
 */
export { logging, type Logger, type LoggingOptions } from "./logging.js";
export { metrics, METRIC_NAMES, type MetricsRecorder } from "./metrics.js";
export { recovery, type RecoveryOptions } from "./recovery.js";
export { timeout } from "./timeout.js";
export type { Middleware, JobContext } from "../worker/types.js";
