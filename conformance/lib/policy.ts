/**
 * The one place that says which case runs where, and why not:
 *   - extensions the embedded server does not offer (reported as unsupported);
 *   - cases that cannot be expressed over gRPC (reported as not applicable);
 *   - cases that fail by their own defect or by a documented disagreement with
 *     another case (reported as known failures; if one starts passing, the run
 *     says so, so this list cannot go stale).
 * docs/conformance.md explains each entry at length.
 */
import { caseKey, type LoadedCase } from "./cases.js";
import type { Failure } from "./interpreter.js";

/** Extension groups (the suite directory without "ext-") the server does not implement. */
export const UNSUPPORTED_EXTENSIONS: Readonly<Record<string, string>> = {
  middleware:
    "server-side enqueue middleware: the embedded server runs no middleware of its own (middleware is a client and worker feature of the SDK), so it cannot inject meta, transform jobs or reject them on a middleware's say-so (EXT-MW-002 needs exactly that)",
};

/** Extensions have no RPC in ojs.v1; they are served over HTTP only. */
export const GRPC_EXTENSION_REASON = "extension served by the HTTP binding only: ojs.v1 has no RPC for it";

/**
 * What the ojs.v1 contract cannot say that an HTTP answer does. The gRPC
 * executor never fills such a part in (no constant, no echo of the request,
 * no default): a step that asserts it throws NotApplicable with the gap's name,
 * and the case is not applicable over gRPC with this reason. A gap the
 * executor names that is missing here fails the case.
 */
export const GRPC_CONTRACT_GAPS = {
  "empty-response":
    "the RPC answers an empty message (PauseQueue, ResumeQueue, DeleteDeadLetter, UnregisterCron, or a RegisterCron whose schedule is not listed after): nothing in it can say what the step asserts of the HTTP body",
  "no-workflow-type":
    "ojs.v1 Workflow has no type (chain, group, batch): the answer cannot say $.workflow.type, and echoing the request's would test the adapter",
  "no-all-time-completed": "QueueStatistics has completed_last_hour but no all-time completed count: the answer cannot say $.queue.completed",
  "heartbeat-no-directive": "HeartbeatResponse.directed_state is UNSPECIFIED (no change): it does not say which state the HTTP answer's state names",
  "http-headers": "asserts HTTP response headers; a gRPC answer has none of the HTTP binding's headers",
  "unparsable-body":
    "sends a body that is not JSON (raw_body); a gRPC request is a protobuf message built from values, which such text cannot become, so the server never sees it",
} as const;

export type GrpcGap = keyof typeof GRPC_CONTRACT_GAPS;

export function grpcGapReason(gap: string | undefined): string | undefined {
  return gap !== undefined && Object.prototype.hasOwnProperty.call(GRPC_CONTRACT_GAPS, gap) ? GRPC_CONTRACT_GAPS[gap as GrpcGap] : undefined;
}

/** Level cases that cannot be expressed through the ojs.v1 RPCs, keyed "<test_id> <name>". */
export const GRPC_NOT_APPLICABLE: Readonly<Record<string, string>> = {
  "L0-ENV-004 invalid-missing-args": "checks that a request without args is refused; proto3 cannot tell missing args from an empty list, which is valid",
  "L0-ENV-007 invalid-args-not-array": "sends args that are not an array; EnqueueRequest.args is a repeated Value and cannot carry them",
  "L0-ENV-014 valid-unknown-fields-preserved": "unknown top-level envelope fields have no place in EnqueueRequest or Job",
  "L0-OPS-003 enqueue-validates-envelope": "step 3 sends args that are not an array, which the proto cannot carry",
  "L0-OPS-030 error-response-structure-not-found":
    "asserts the hint and docs_url of the HTTP error body; a gRPC status carries the OJS code, message and retryable in ErrorInfo, and no hint or documentation link",
  "L0-OPS-033 error-response-content-type": "asserts the Content-Type header of an HTTP error response",
  "L0-EVT-001 event-job-enqueued": "reads past events from GET /ojs/v1/events; gRPC has only the live StreamEvents, no event history",
  "L0-EVT-002 event-job-completed": "reads past events from GET /ojs/v1/events; gRPC has only the live StreamEvents, no event history",
  "L1-WRK-003 worker-graceful-shutdown": "hands the job back with nack {requeue: true}; NackRequest has no requeue flag",
  "L2-CRON-001 cron-registers": "asserts created_at of the schedule; CronEntry has no created_at",
  "L2-CRON-005 cron-overlap-prevention": "registers with overlap_policy; RegisterCronRequest has no overlap_policy",
  "L4-UNIQ-004 unique-ignore-duplicate": "expects 200 (not 201) for an ignored duplicate; EnqueueResponse cannot say whether the job was created or found",
  "L4-RL-001 rate-limit-per-queue": "configures the queue rate limit through the enqueue option rate_limit; EnqueueOptions has no such field",
};

/** One failed assertion, as the interpreter reports it (actual is the JSON text of the value). */
export interface ExpectedFailure {
  step: string;
  field: string;
  actual: string;
}

export interface KnownFailure {
  protocols: ReadonlyArray<"http" | "grpc">;
  reason: string;
  /**
   * The failed assertions the reason explains, exactly: a run is a known failure only when
   * it fails with these and nothing else. Failing in another way is a failure.
   */
  failures: readonly ExpectedFailure[];
}

/** Cases that fail for a reason in the case itself, keyed "<test_id> <name>". */
export const KNOWN_FAILURES: Readonly<Record<string, KnownFailure>> = {
  "L1-RTR-014 retry-error-history-tracked": {
    protocols: ["http", "grpc"],
    reason:
      'case defect: its three nacks send error.code "handler_error" (upstream commit 6e51165 rewrote them from error.type), but step-8 still expects the old types "ConnectionTimeout", "RateLimitExceeded", "InternalServerError" in errors[i].type, which no request carries',
    failures: [0, 1, 2].map((i) => ({ step: "step-8", field: `$.job.errors[${i}].type`, actual: '"handler_error"' })),
  },
  "EXT-BP-001 backpressure-reject-when-full": {
    protocols: ["http"],
    reason:
      'disagreement: expects error.code "QUEUE_FULL" (the upper-case catalog of ojs-errors.md); the HTTP binding and every level case use lower-case codes, so the server answers "queue_full" (429, Retry-After, depth headers as asked)',
    failures: [{ step: "step-4", field: "$.error.code", actual: '"queue_full"' }],
  },
};

/**
 * Cases whose steps must follow each other within about half a second (their own
 * timers leave no more), keyed "<test_id> <name>". They run one at a time per
 * protocol once the busy part of the run is over (suite.ts), never beside dozens of
 * other cases whose servers share this process: there, on two busy cores, their
 * steps came seconds apart and they failed although the server was right.
 */
export const TIGHT_TIMING: Readonly<Record<string, string>> = {
  "L0-LC-005 nack-with-retries-transitions-to-retryable":
    "reads the job back as retryable after a nack with a 1 s retry interval: jittered by 0.5-1.5, the retry may be due 500 ms later",
  "L1-RTR-010 retry-constant-backoff": "reads retry_delay_ms back from the nacked job before its 1 s retry is due",
  "L1-VIS-002 heartbeat-extends-timeout": "heartbeats 2 s into a 3 s visibility timeout, and reads the job 1 s after the last beat",
};

export function unsupportedReason(c: LoadedCase): string | undefined {
  return c.extension ? UNSUPPORTED_EXTENSIONS[c.group] : undefined;
}

export function grpcNotApplicable(c: LoadedCase): string | undefined {
  if (c.extension) return GRPC_EXTENSION_REASON;
  return GRPC_NOT_APPLICABLE[caseKey(c)];
}

/**
 * Whether a run failed exactly as the known failure documents: every failed
 * assertion is one the reason explains, and every one it explains happened.
 * Returns undefined when it did, else what differs.
 */
export function unexplainedFailures(known: KnownFailure, failures: readonly Failure[]): string | undefined {
  const key = (f: { step: string; field: string; actual: string }) => `[${f.step}] ${f.field} = ${f.actual}`;
  const expected = new Set(known.failures.map(key));
  const seen = new Set(failures.map(key));
  const extra = [...seen].filter((k) => !expected.has(k));
  const missing = [...expected].filter((k) => !seen.has(k));
  if (!extra.length && !missing.length) return undefined;
  return [
    extra.length ? `failed beyond its documented reason: ${extra.join("; ")}` : "",
    missing.length ? `no longer fails as documented: ${missing.join("; ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
}
