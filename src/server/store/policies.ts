/**
 * Pure decisions of the state machine: functions of a job or worker record and
 * the clock, with no state of their own, so that any store (the in-process one,
 * a database one) decides the same way. docs/stores.md lists them.
 */
import { ValidationError } from "../../model/errors.js";
import type { Job, JobError, JobState, NormalizedJobRequest, UniquePolicy } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import { isNonRetryable, retryDelayMs, type EffectiveRetry } from "./backoff.js";
import { DEFAULT_QUEUE, NO_ERRORS, NO_META, NO_TAGS, type NackOptions, type WorkerInfo } from "./records.js";
import { blocks } from "./unique.js";

/**
 * A job as enqueued, before any store keeps it: available, or scheduled when
 * its time is still ahead; the unique policy checked against its args. Every
 * store builds its jobs here, so they show the same fields.
 */
export function newJob(
  req: NormalizedJobRequest,
  id: string,
  retry: { maxAttempts: number; shown: NonNullable<Job["retry"]> },
  now: number,
  created = new Date(now),
): Job {
  const job: Job = {
    id,
    type: req.type,
    queue: req.queue ?? DEFAULT_QUEUE,
    args: req.args,
    meta: req.meta ?? NO_META,
    state: "available",
    priority: req.priority ?? 0,
    attempt: 0,
    maxAttempts: retry.maxAttempts,
    retry: retry.shown,
    errors: NO_ERRORS,
    createdAt: created,
    enqueuedAt: created,
    tags: req.tags ?? NO_TAGS,
    specversion: "1.0",
  };
  if (req.unique) {
    checkUniquePolicy(req.unique, req.args);
    job.unique = req.unique;
  }
  if (req.timeout !== undefined) job.timeout = req.timeout;
  if (req.visibilityTimeout !== undefined) job.visibilityTimeout = req.visibilityTimeout;
  if (req.expiresAt) job.expiresAt = req.expiresAt;
  if (req.scheduledAt) {
    job.scheduledAt = req.scheduledAt;
    if (req.scheduledAt.getTime() > now) job.state = "scheduled";
  }
  return job;
}

/** UQ §2.2: what the schema cannot check because it depends on the job. */
export function checkUniquePolicy(u: NonNullable<NormalizedJobRequest["unique"]>, args: JsonValue[]): void {
  const fail = (path: string, message: string) => {
    throw new ValidationError(`options.unique.${path}: ${message}`, { code: "validation_error", issues: [{ path: `options.unique.${path}`, message }] });
  };
  if (u.keys?.includes("meta") && !u.metaKeys?.length) fail("meta_keys", 'must name the meta keys when "meta" is one of the keys');
  if (u.argsKeys?.length && u.keys?.includes("args")) {
    const first = args[0];
    if (!isJsonObject(first)) fail("args_keys", "needs the first argument to be an object");
    const missing = u.argsKeys.filter((k) => !(k in (first as JsonObject)));
    if (missing.length) fail("args_keys", `names keys the args do not have: ${missing.join(", ")}`);
  }
}

/** Reported states beyond the three directives: "drain" and its spellings from the graceful-shutdown extension. */
export function normalizeWorkerState(s: string): string {
  const v = s.toLowerCase();
  if (v === "draining" || v === "shutting_down" || v === "stopping") return "drain";
  return v;
}

export function fetchAllowed(w: WorkerInfo): boolean {
  return w.directive === "running" && (w.state === "running" || w.state === "");
}

/**
 * The worker said it is terminating (its own heartbeat, not the operator's
 * directive): it starts no job it has not started yet, so a pushed job it has
 * not started can go back once its stream ended, without running twice.
 */
export function saidTerminate(w: WorkerInfo | undefined): boolean {
  return w?.state === "terminate";
}

/** A worker that says it is terminating stays told to terminate; otherwise the operator's word holds. */
export function directiveFor(w: WorkerInfo): WorkerDirective {
  if (w.state === "terminate" || w.directive === "terminate") return "terminate";
  return w.directive;
}

export function isWorkerDirective(v: unknown): v is WorkerDirective {
  return v === "running" || v === "quiet" || v === "terminate";
}

// --- job decisions (a database store calls the same ones inside its transactions) ----------

/** What becomes of a job whose attempt failed. */
export type FailureDecision = { kind: "retry"; delayMs: number } | { kind: "discard"; deadLetter: boolean };

/**
 * RET §5-§7: a failed attempt is retried after a backoff unless the handler's
 * response says otherwise, the error is not retryable (by flag or by code),
 * or the attempts are spent; a discarded job goes to the dead letter when its
 * policy says so (a DEAD_LETTER response always). `random` feeds the jitter
 * and is only drawn from for a retry.
 */
export function decideFailure(
  attempt: number,
  retry: EffectiveRetry,
  error: Pick<JobError, "code" | "retryable">,
  response: NackOptions["response"] | undefined,
  random: () => number,
): FailureDecision {
  const exhausted = attempt >= retry.maxAttempts;
  const spent: FailureDecision = { kind: "discard", deadLetter: retry.onExhaustion === "dead_letter" };
  if (response === "DISCARD" || response === "FAIL") return { kind: "discard", deadLetter: false };
  if (response === "DEAD_LETTER") return { kind: "discard", deadLetter: true };
  if (response !== "RETRY" && (error.retryable === false || isNonRetryable(error.code, retry.nonRetryableErrors) || exhausted)) return spent;
  if (response === "RETRY" && exhausted) return spent;
  return { kind: "retry", delayMs: retryDelayMs(retry, attempt, random) };
}

/** What becomes of a job whose lease ran out unsettled. */
export type LeaseExpiryDecision = { kind: "free" } | { kind: "retry" } | { kind: "discard"; deadLetter: boolean };

/**
 * WP §5.5 and the in-flight limits (./in-flight.ts): a job its holder never
 * started goes back without costing an attempt while it has free reclaims
 * left (`charged` false, from InFlight.charges); otherwise the attempt counts
 * as failed, and with none left the job is exhausted like any failed one.
 */
export function decideLeaseExpiry(charged: boolean, attempt: number, retry: EffectiveRetry): LeaseExpiryDecision {
  if (!charged) return { kind: "free" };
  if (attempt >= retry.maxAttempts) return { kind: "discard", deadLetter: retry.onExhaustion === "dead_letter" };
  return { kind: "retry" };
}

/** What an enqueue does about an existing job with the same unique key. */
export type UniqueDecision = "insert" | "ignore" | "replace" | "reject";

/**
 * UQ §5: with no existing job, or one that no longer blocks (its state is not
 * among the policy's, or the period is over), the new job goes in; otherwise
 * the policy's on_conflict decides (default "reject").
 */
export function decideUnique(existing: { state: JobState; createdAt: number } | undefined, policy: UniquePolicy, now: number): UniqueDecision {
  if (!existing || !blocks(existing, policy, now)) return "insert";
  switch (policy.onConflict ?? "reject") {
    case "ignore":
      return "ignore";
    case "replace":
    case "replace_except_schedule":
      return "replace";
    default:
      return "reject";
  }
}
