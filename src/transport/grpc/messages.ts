/**
 * The ojs.v1 answers of the core operations that are more than one codec call:
 * what the rows of ../operations.ts use. The model conversions themselves
 * live in ../../codec.
 */
import type { HealthResponse, ManifestResponse } from "../../../gen/ojs/v1/service_pb.js";
import type { NackResponse } from "../../../gen/ojs/v1/worker_pb.js";
import { healthFromProto, jobStateFromProto } from "../../codec/proto.js";
import { dateFromTimestamp } from "../../codec/values.js";
import type { JobError } from "../../model/job.js";
import type { Health, Manifest, NackResult, Page } from "../../model/system.js";
import type { NackRequest } from "../transport.js";

export function manifestFromProto(r: ManifestResponse): Manifest {
  return {
    specversion: r.ojsVersion,
    implementation: { name: r.implementation?.name ?? "", version: r.implementation?.version ?? "", language: r.implementation?.language ?? "" },
    conformanceLevel: r.conformanceLevel,
    protocols: [...r.protocols],
    backend: r.backend,
    extensions: [...r.extensions],
    schemaValidation: r.schemaValidation,
  };
}

export function healthFromResponse(r: HealthResponse): Health {
  const h: Health = { status: healthFromProto(r.status) };
  if (r.timestamp) h.timestamp = dateFromTimestamp(r.timestamp);
  if (r.details) h.details = r.details as Health["details"];
  return h;
}

/**
 * The error a Nack carries over ojs.v1: retryable unless it says otherwise (the
 * proto bool cannot be "unset"), and a requeue, which the proto has no field
 * for, as `details.requeue` (see NackRequest.requeue).
 */
export function nackErrorForProto(req: NackRequest): JobError {
  const error: JobError = { ...req.error, retryable: req.error.retryable ?? true };
  if (req.requeue) error.details = { ...req.error.details, requeue: true };
  return error;
}

export function nackResultFromProto(r: NackResponse): NackResult {
  const out: NackResult = { state: jobStateFromProto(r.state) ?? "retryable" };
  if (r.nextAttemptAt) out.nextAttemptAt = dateFromTimestamp(r.nextAttemptAt);
  return out;
}

/** A page of items, with the cursor of the next one when the server gave it. */
export function pageFrom<T>(items: T[], nextCursor: string, totalCount?: bigint): Page<T> {
  const out: Page<T> = totalCount === undefined ? { items } : { items, totalCount: Number(totalCount) };
  if (nextCursor) out.nextCursor = nextCursor;
  return out;
}
