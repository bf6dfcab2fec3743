/**
 * drain()'s real-time limit: a handler that does not finish before it is
 * aborted and reported with a TimeoutError.
 */
import type { Job } from "../model/job.js";
import { TimeoutError } from "../model/errors.js";
import type { DrainResult } from "./fake-options.js";
import { plural } from "./assertions.js";

/** Thrown out of beforeDeadline(): carries the TimeoutError drain() reports. */
export class DrainTimeout extends Error {
  constructor(readonly timeout: TimeoutError) {
    super(timeout.message);
  }
}

/** The TimeoutError of a drain() that ran out of real time. */
export function drainTimeout(timeoutMs: number, r: DrainResult, running: Job | undefined): TimeoutError {
  const still = running ? `; job ${running.id} (${running.type}) was still running` : "";
  return new TimeoutError(`drain() did not finish within ${timeoutMs} ms (real time): ${plural(r.processed, "attempt")} run${still}`, { operation: "drain" });
}

/** The handler's outcome, unless the deadline comes first: then its signal aborts and a DrainTimeout is thrown. */
export async function beforeDeadline<T>(p: Promise<T>, deadline: number, abort: AbortController, timeout: () => TimeoutError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const e = timeout();
        abort.abort(e);
        reject(new DrainTimeout(e));
      },
      Math.max(0, deadline - Date.now()),
    );
    timer.unref();
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
