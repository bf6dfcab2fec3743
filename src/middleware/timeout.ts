import { JobTimeoutError } from "../worker/errors.js";
import type { JobContext, Middleware } from "../worker/types.js";

/**
 * Gives every job a time limit (a number of ms, or a function of the job for
 * per-type limits). At the limit it aborts `ctx.signal` with a JobTimeoutError;
 * the worker then fails the attempt with code "timeout" once the handler has
 * stopped, or after a short grace if it ignores the signal. The slot stays taken
 * until the handler really returns, so the concurrency limit holds.
 */
export function timeout(limit: number | ((ctx: JobContext<unknown>) => number | undefined)): Middleware {
  return async (ctx, next) => {
    const ms = typeof limit === "function" ? limit(ctx) : limit;
    if (ms === undefined || !(ms > 0)) return next();
    const t = setTimeout(() => ctx.abort(new JobTimeoutError(ms)), ms);
    try {
      return await next();
    } finally {
      clearTimeout(t);
    }
  };
}
