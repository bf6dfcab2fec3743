/**
 * The ojs.v1 messages of the wire codec: Job, EnqueueRequest, EnqueueBatch
 * request and response, and the worker's Ack/Nack/Fetch messages.
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { NackResult } from "../../model/system.js";
import {
  ENQUEUE_BATCH_REQUEST_SHAPE,
  ENQUEUE_BATCH_RESPONSE_SHAPE,
  readEnqueueBatchRequest,
  readEnqueueBatchResponse,
  writeEnqueueBatchRequestBody,
  writeEnqueueBatchResponseBody,
  type EnqueueBatch,
  type EnqueueBatchResult,
  type WireBatchJobError,
} from "./batch.js";
import { Reader } from "./reader.js";
import { ENQUEUE_REQUEST_SHAPE, readEnqueueRequest, writeEnqueueRequestBody, type EnqueueOptionsFields } from "./enqueue.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { JOB_RESPONSE_SHAPE, readJobResponse, writeJobResponseBody } from "./unary.js";
import { decode, encodeWith, w } from "./two-pass.js";
import {
  ACK_REQUEST_SHAPE,
  ACK_RESPONSE_SHAPE,
  FETCH_RESPONSE_SHAPE,
  NACK_REQUEST_SHAPE,
  NACK_RESPONSE_SHAPE,
  readAckRequest,
  readAckResponse,
  readFetchResponse,
  readNackRequest,
  readNackResponse,
  writeAckRequestBody,
  writeAckResponseBody,
  writeFetchResponseBody,
  writeNackRequestBody,
  writeNackResponseBody,
  type WireAckRequest,
  type WireAckResponse,
  type WireNackRequest,
} from "./worker.js";

// The `now` of the decode in progress, for readers that turn a relative ttl into an instant.
let decodeNow = 0;

// --- ojs.v1.Job ----------------------------------------------------------------------

/** ojs.v1.Job, as toBinary(JobSchema, jobToProto(job)). */
export function encodeJob(job: Job): Uint8Array {
  return encodeWith(writeJobBody, job);
}

/** ojs.v1.Job, as jobFromProto(fromBinary(JobSchema, bytes)). */
export function decodeJob(bytes: Uint8Array): Job {
  return decode(bytes, JOB_SHAPE, readJob);
}

// --- ojs.v1.EnqueueRequest -----------------------------------------------------------------

/**
 * ojs.v1.EnqueueRequest, as requestToProto(req, now, tunnel); `now` turns expiresAt into
 * the ttl field, `tunnel` false leaves out the reserved meta keys only ojs-connect servers read.
 */
export function encodeEnqueueRequest(req: NormalizedJobRequest, now: number = Date.now(), tunnel = true): Uint8Array {
  w.reset();
  writeEnqueueRequestBody(w, req, now, tunnel);
  return w.finish();
}

/** ojs.v1.EnqueueRequest, as requestFromProto(type, args, options, now). */
export function decodeEnqueueRequest(bytes: Uint8Array, now: number = Date.now()): NormalizedJobRequest {
  decodeNow = now;
  return decode(bytes, ENQUEUE_REQUEST_SHAPE, readEnqueueRequestNow);
}
function readEnqueueRequestNow(r: Reader, end: number): NormalizedJobRequest {
  return readEnqueueRequest(r, end, decodeNow);
}

// --- ojs.v1.EnqueueBatchRequest / EnqueueBatchResponse ----------------------------------------

/** ojs.v1.EnqueueBatchRequest: each entry as requestToProto writes a request; `defaults` as default_options. */
export function encodeEnqueueBatchRequest(
  jobs: readonly NormalizedJobRequest[],
  defaults?: EnqueueOptionsFields,
  now: number = Date.now(),
  tunnel = true,
): Uint8Array {
  w.reset();
  writeEnqueueBatchRequestBody(w, jobs, defaults, now, tunnel);
  return w.finish();
}

/** ojs.v1.EnqueueBatchRequest; a server applies `{ type, args, ...defaults, ...entryOptions }`, as the connect route does. */
export function decodeEnqueueBatchRequest(bytes: Uint8Array, now: number = Date.now()): EnqueueBatch {
  decodeNow = now;
  return decode(bytes, ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequestNow);
}
function readEnqueueBatchRequestNow(r: Reader, end: number): EnqueueBatch {
  return readEnqueueBatchRequest(r, end, decodeNow);
}

/** ojs.v1.EnqueueBatchResponse; `count` defaults to the number of jobs, `errors` (by entry index) to none. */
export function encodeEnqueueBatchResponse(
  jobs: readonly Job[],
  extra: { count?: number; errors?: Readonly<Record<number, WireBatchJobError>> } = {},
): Uint8Array {
  w.reset();
  writeEnqueueBatchResponseBody(w, jobs, extra.count ?? jobs.length, extra.errors);
  return w.finish();
}
export function decodeEnqueueBatchResponse(bytes: Uint8Array): EnqueueBatchResult {
  return decode(bytes, ENQUEUE_BATCH_RESPONSE_SHAPE, readEnqueueBatchResponse);
}

// --- ojs.v1 worker messages ------------------------------------------------------------------

/** ojs.v1.AckRequest; a result that is not a plain object travels as {"$value": result} (resultToStruct). */
export function encodeAckRequest(req: WireAckRequest): Uint8Array {
  return encodeWith(writeAckRequestBody, req);
}
export function decodeAckRequest(bytes: Uint8Array): WireAckRequest {
  return decode(bytes, ACK_REQUEST_SHAPE, readAckRequest);
}

export function encodeAckResponse(res: WireAckResponse): Uint8Array {
  return encodeWith(writeAckResponseBody, res);
}
export function decodeAckResponse(bytes: Uint8Array): WireAckResponse {
  return decode(bytes, ACK_RESPONSE_SHAPE, readAckResponse);
}

/** ojs.v1.NackRequest, as jobErrorToProto writes the error: `retryable` unset goes out as false. */
export function encodeNackRequest(req: WireNackRequest): Uint8Array {
  return encodeWith(writeNackRequestBody, req);
}
export function decodeNackRequest(bytes: Uint8Array): WireNackRequest {
  return decode(bytes, NACK_REQUEST_SHAPE, readNackRequest);
}

/** ojs.v1.NackResponse; `attempt` has no field and is not sent. */
export function encodeNackResponse(res: NackResult): Uint8Array {
  return encodeWith(writeNackResponseBody, res);
}
/** An unknown or unset state reads as "retryable", as the gRPC transport reads it. */
export function decodeNackResponse(bytes: Uint8Array): NackResult {
  return decode(bytes, NACK_RESPONSE_SHAPE, readNackResponse);
}

/** ojs.v1.EnqueueResponse, GetJobResponse or CancelJobResponse of a job, as toBinary(…, { job: jobToProto(job) }). */
export function encodeJobResponse(job: Job): Uint8Array {
  return encodeWith(writeJobResponseBody, job);
}

/** ojs.v1.EnqueueResponse, GetJobResponse or CancelJobResponse: the job in field 1 (undefined if none). */
export function decodeJobResponse(bytes: Uint8Array): Job | undefined {
  return decode(bytes, JOB_RESPONSE_SHAPE, readJobResponse);
}

/** ojs.v1.FetchResponse. */
export function encodeFetchResponse(jobs: readonly Job[]): Uint8Array {
  return encodeWith(writeFetchResponseBody, jobs);
}
export function decodeFetchResponse(bytes: Uint8Array): Job[] {
  return decode(bytes, FETCH_RESPONSE_SHAPE, readFetchResponse);
}
