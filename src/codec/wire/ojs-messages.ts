/**
 * The ojs.v1 messages of the wire codec: Job, EnqueueRequest, EnqueueBatch
 * request and response, and the worker's Ack/Nack/Fetch messages.
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
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
import { ENQUEUE_REQUEST_SHAPE, readEnqueueRequest, writeEnqueueRequestBody, type EnqueueOptionsFields } from "./enqueue.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { JOB_RESPONSE_SHAPE, readJobResponse, writeJobResponseBody } from "./unary.js";
import { decode, encodeWith, messageCodec, w } from "./two-pass.js";
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
} from "./worker.js";

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
  return decode(bytes, ENQUEUE_REQUEST_SHAPE, readEnqueueRequest, now);
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
  return decode(bytes, ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest, now);
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

// --- ojs.v1 worker messages and job responses ----------------------------------------------
// AckRequest: a result that is not a plain object travels as {"$value": result} (resultToStruct).
// NackRequest: as jobErrorToProto writes the error, `retryable` unset goes out as false.
// NackResponse: `attempt` has no field and is not sent; an unknown or unset state reads as "retryable".
// EnqueueResponse, GetJobResponse, CancelJobResponse: the job in field 1, as toBinary(…, { job: jobToProto(job) }); none reads as undefined.

export const { encode: encodeAckRequest, decode: decodeAckRequest } = messageCodec(writeAckRequestBody, ACK_REQUEST_SHAPE, readAckRequest);
export const { encode: encodeAckResponse, decode: decodeAckResponse } = messageCodec(writeAckResponseBody, ACK_RESPONSE_SHAPE, readAckResponse);
export const { encode: encodeNackRequest, decode: decodeNackRequest } = messageCodec(writeNackRequestBody, NACK_REQUEST_SHAPE, readNackRequest);
export const { encode: encodeNackResponse, decode: decodeNackResponse } = messageCodec(writeNackResponseBody, NACK_RESPONSE_SHAPE, readNackResponse);
export const { encode: encodeJobResponse, decode: decodeJobResponse } = messageCodec(writeJobResponseBody, JOB_RESPONSE_SHAPE, readJobResponse);
export const { encode: encodeFetchResponse, decode: decodeFetchResponse } = messageCodec(writeFetchResponseBody, FETCH_RESPONSE_SHAPE, readFetchResponse);
