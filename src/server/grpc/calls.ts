/**
 * The hot calls (enqueue, ack, nack) at the level of domain objects, so that
 * every way in (unary RPCs, the fast path over connect or over raw frames)
 * runs exactly the same code; the proto-message forms below are thin wrappers.
 */
import { create } from "@bufbuild/protobuf";
import type { EnqueueRequest, Job as PbJob } from "../../../gen/ojs/v1/job_pb.js";
import {
  HeartbeatResponseSchema,
  NackResponseSchema,
  type AckRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type NackRequest,
  type NackResponse,
} from "../../../gen/ojs/v1/worker_pb.js";
import {
  jobErrorFromProto,
  jobStateToProto,
  jobToProto,
  requestFromProto,
  resultFromStruct,
  workerStateFromProto,
  workerStateToProto,
} from "../../codec/proto.js";
import { msFromDuration, timestampFromDate } from "../../codec/values.js";
import { ConflictError, NotFoundError } from "../../model/errors.js";
import type { Job, JobError, NormalizedJobRequest } from "../../model/job.js";
import type { JsonValue } from "../../model/json.js";
import type { NackResult } from "../../model/system.js";
import type { ServerCore } from "../core.js";
import type { Consumer, SubmitResult } from "../store/records.js";
import { checkBatchSize } from "../../model/limits.js";
import { checkVisible, withTenant } from "../tenancy/jobs.js";
import { admitBatch, checkWorkerValue, enqueueChecked, revalidate } from "../shared.js";

/** Validates like the HTTP binding does, then enqueues. The Job is the store's own: encode it, do not keep it. */
export async function enqueueJob(core: ServerCore, req: NormalizedJobRequest, tenant?: string): Promise<Job> {
  return (await enqueueSubmit(core, req, tenant)).rec.job;
}

/**
 * enqueueJob with the unique policy's outcome: `deduplicated` when the job is one that was there
 * before. Async: a request the checks refuse is a rejection, never a throw (a stream's other calls go on).
 */
export async function enqueueSubmit(core: ServerCore, req: NormalizedJobRequest, tenant?: string): Promise<SubmitResult> {
  return enqueueChecked(core, revalidate(withTenant(req, tenant), core.store.clock.now(), core.limits));
}

/**
 * Atomic batch: `defaults` apply field by field where an entry sets nothing;
 * every entry is validated before any is stored.
 */
export async function enqueueJobs(
  core: ServerCore,
  jobs: readonly NormalizedJobRequest[],
  defaults: Omit<NormalizedJobRequest, "type" | "args"> = {},
  tenant?: string,
): Promise<Job[]> {
  const now = core.store.clock.now();
  checkBatchSize(core.limits, jobs.length);
  const withDefaults = Object.keys(defaults).length > 0;
  // Each job's size as the limits walk measured it, for the queued-bytes ledger (one walk, not two).
  const sizes: number[] = [];
  const entries = jobs.map((job, i) => {
    try {
      return { req: revalidate(withTenant(withDefaults ? { ...defaults, ...job } : job, tenant), now, core.limits, sizes) };
    } catch (e) {
      if (e instanceof Error) e.message = `jobs[${i}].${e.message}`;
      throw e;
    }
  });
  admitBatch(
    core,
    entries.map((e) => e.req),
    "jobs",
    sizes,
  );
  return (await core.jobs.enqueueBatch(entries)).map((r) => r.job);
}

export async function ackJob(core: ServerCore, jobId: string, result: JsonValue | undefined, workerId?: string, tenant?: string): Promise<void> {
  if (tenant !== undefined) checkVisible(jobId, (await core.jobs.get(jobId)).job.meta, tenant);
  checkWorkerValue(core, result, "result");
  await core.jobs.ack(jobId, result, workerId || undefined);
}

/**
 * proto3 has no "unset" bool: a missing or false `retryable` is taken literally (do not retry).
 * ojs.v1 has no requeue field either: `error.details.requeue: true` asks for one (a worker
 * handing back a job it never started), as the HTTP binding's `requeue` does.
 */
export async function nackJob(core: ServerCore, jobId: string, error: JobError | undefined, workerId?: string, tenant?: string): Promise<NackResult> {
  if (tenant !== undefined) checkVisible(jobId, (await core.jobs.get(jobId)).job.meta, tenant);
  checkWorkerValue(core, error?.details, "error.details");
  const err: JobError = error ? { ...error, retryable: error.retryable ?? false } : { code: "error", message: "", retryable: false };
  const rec = await core.jobs.nack(jobId, err, workerId || undefined, error?.details?.requeue === true ? { requeue: true } : undefined);
  const out: NackResult = { state: rec.job.state };
  if (rec.job.state === "retryable" && rec.job.scheduledAt) out.nextAttemptAt = rec.job.scheduledAt;
  return out;
}

export async function enqueueCall(core: ServerCore, req: EnqueueRequest, tenant?: string): Promise<PbJob> {
  return jobToProto(await enqueueJob(core, requestFromProto(req.type, req.args, req.options), tenant));
}

export async function ackCall(core: ServerCore, req: AckRequest, workerId?: string, tenant?: string): Promise<void> {
  await ackJob(core, req.jobId, req.result ? resultFromStruct(req.result) : undefined, workerId, tenant);
}

export async function nackCall(core: ServerCore, req: NackRequest, workerId?: string, tenant?: string): Promise<NackResponse> {
  const out = await nackJob(core, req.jobId, req.error ? jobErrorFromProto(req.error) : undefined, workerId, tenant);
  const res = create(NackResponseSchema, { state: jobStateToProto(out.state) });
  if (out.nextAttemptAt) res.nextAttemptAt = timestampFromDate(out.nextAttemptAt);
  return res;
}

/**
 * The proto beats one job, for the connect route and the hand-framed one alike. A job this
 * worker no longer holds is refused (not_found or invalid_state) so that the worker learns it lost the job.
 */
export async function heartbeatCall(core: ServerCore, req: HeartbeatRequest): Promise<HeartbeatResponse> {
  const workerId = req.workerId || "anonymous";
  const reported = workerStateFromProto(req.currentState);
  const out = await core.jobs.heartbeat({
    workerId,
    ...(reported ? { state: reported } : {}),
    jobIds: req.id ? [req.id] : [],
    visibilityTimeoutMs: req.extendBy ? msFromDuration(req.extendBy) : undefined,
  });
  if (req.id && out.lost.includes(req.id)) {
    if (!(await core.jobs.has(req.id))) throw new NotFoundError(`job ${req.id} not found`, { jobId: req.id });
    throw new ConflictError(`job ${req.id} is not active for worker ${workerId}`, { code: "invalid_state", jobId: req.id });
  }
  const res = create(HeartbeatResponseSchema, { directedState: workerStateToProto(out.directive) });
  if (out.deadline) res.newDeadline = timestampFromDate(new Date(out.deadline));
  return res;
}

/**
 * Ends the consumer of a StreamJobs call that ended. When its worker said it is
 * terminating, the jobs pushed to it that it never started go back now rather
 * than at the end of their lease (JobStore.closeConsumer), counted as
 * `streams.released.unread`. Idempotent, like closeConsumer.
 */
export function endJobStream(core: ServerCore, consumer: Consumer): void {
  core.jobs.closeConsumer(consumer, { releaseUnstarted: true }).then(
    (n) => {
      if (n > 0) core.count("streams.released.unread", n);
    },
    (e: unknown) => core.fault(e, "closing a StreamJobs consumer"),
  );
}
