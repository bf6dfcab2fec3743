import type { Middleware } from "../worker/types.js";
import { toJobError } from "../worker/errors.js";

/** Structured logger; `console` fits, as do pino and winston child loggers. */
export interface Logger {
  /** Verbose detail. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Normal operation. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something to look at. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** A failure. */
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggingOptions {
  /** Default: console. */
  logger?: Logger;
  /** Also log args at debug level. Off by default: args may hold personal data. */
  logArgs?: boolean;
}

/**
 * Logs each job's start (debug), completion (info) and failure (error) with
 * job_id, job_type, queue, attempt, duration_ms and status. Never logs args
 * at info or above.
 */
export function logging(opts: LoggingOptions = {}): Middleware {
  const log = opts.logger ?? (console as Logger);
  return async (ctx, next) => {
    const fields = { job_id: ctx.jobId, job_type: ctx.type, queue: ctx.queue, attempt: ctx.attempt };
    log.debug("job started", opts.logArgs ? { ...fields, args: ctx.job.args } : fields);
    const t0 = performance.now();
    try {
      const result = await next();
      log.info("job completed", { ...fields, duration_ms: Math.round(performance.now() - t0), status: "completed" });
      return result;
    } catch (e) {
      const err = toJobError(e);
      log.error("job failed", {
        ...fields,
        duration_ms: Math.round(performance.now() - t0),
        status: "failed",
        error: { code: err.code, message: err.message },
      });
      throw e;
    }
  };
}
