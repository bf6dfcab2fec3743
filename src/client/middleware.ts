/**
 * Enqueue middleware and the option copy every enqueue starts from: what the
 * Client runs on a job before it checks and sends it.
 */
import { OjsError, ValidationError } from "../model/errors.js";
import type { EnqueueOptions, JobRequest } from "../model/job.js";
import type { JsonValue } from "../model/json.js";

/**
 * Enqueue middleware: sees every job before it is validated and sent (single
 * and batch alike), may change it, and returns `next(request)` to go on or
 * `null` to drop the job. Throwing aborts the enqueue with that error.
 */
export type EnqueueMiddleware = (
  request: JobRequest,
  next: (request: JobRequest) => Promise<JobRequest | null>,
) => Promise<JobRequest | null> | JobRequest | null;

/** An enqueue middleware returned null: the job was deliberately not sent. */
export class JobDroppedError extends OjsError {
  override name = "JobDroppedError";
  constructor(readonly request: JobRequest) {
    super(`enqueue middleware dropped the ${request.type} job`, { code: "dropped", retryable: false, operation: "enqueue" });
  }
}

export interface BatchJob {
  type: string;
  args: JsonValue[];
  options?: EnqueueOptions;
}

/**
 * Runs the middleware in the order added; null when one dropped the job. A
 * middleware may fill in fields but never change an id the caller chose.
 */
export async function runEnqueueMiddleware(middleware: readonly EnqueueMiddleware[], req: JobRequest, operation: string): Promise<JobRequest | null> {
  const id = req.options?.id;
  const run = async (i: number, r: JobRequest): Promise<JobRequest | null> =>
    i === middleware.length ? r : await middleware[i]!(r, (next) => run(i + 1, next));
  const out = await run(0, req);
  if (out !== null && id !== undefined && out.options?.id !== id) throw new ValidationError("enqueue middleware must not change the job id", { operation });
  return out;
}

/** A copy the middleware may change; a non-object (a number, an array) is refused rather than read as {}. */
export function copyOptions(o: unknown, path: string, operation: string): EnqueueOptions {
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw new ValidationError(`${path}: must be an object`, { operation, issues: [{ path, message: "must be an object" }] });
  return { ...(o as EnqueueOptions) };
}
