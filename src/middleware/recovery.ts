import type { JobContext, Middleware } from "../worker/types.js";

/** Options of the recovery middleware. */
export interface RecoveryOptions {
  /** Error reporting hook (Sentry, Bugsnag...). Awaited; its own failures are ignored. */
  onError?: (error: Error, ctx: JobContext<unknown>) => void | Promise<void>;
}

/**
 * Turns whatever a handler throws (strings, plain objects, errors without a
 * stack) into a proper Error with a stack, reports it, and rethrows it: the job
 * still fails and follows its retry policy. Never swallows an error.
 */
export function recovery(opts: RecoveryOptions = {}): Middleware {
  return async (ctx, next) => {
    try {
      return await next();
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : Object.assign(new Error(describe(thrown)), { thrown });
      if (opts.onError) {
        try {
          await opts.onError(error, ctx);
        } catch {
          // A broken reporter must not change what happens to the job.
        }
      }
      throw error;
    }
  };
}

function describe(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return `non-error thrown: ${JSON.stringify(v)}`;
  } catch {
    return `non-error thrown: ${String(v)}`;
  }
}
