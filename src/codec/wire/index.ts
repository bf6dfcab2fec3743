/**
 * A hand-written protobuf binary codec for the hot ojs.v1 / ojsconnect.v1
 * messages, converting directly between domain objects and wire bytes: no
 * protobuf-es message objects, no google.protobuf.Value trees.
 *
 * Meaning: exactly that of ../proto.ts (jobToProto/jobFromProto,
 * requestToProto/requestFromProto, resultToStruct/resultFromStruct,
 * jobErrorToProto/jobErrorFromProto). Bytes: encoders write what protobuf-es's
 * toBinary writes for the same message, byte for byte. Decoders accept any
 * valid encoding: fields in any order, unknown fields (groups too), packed or
 * unpacked enums, repeated fields split, singular message fields repeated
 * (merged, as protobuf says).
 *
 * Where this codec deliberately differs from the protobuf-es path:
 * - a string that starts with U+FEFF keeps it (protobuf-es's TextDecoder drops it);
 * - a JSON key "__proto__" stays an own key (protobuf-es loses it);
 * - a non-JSON value (undefined, function, bigint) anywhere in a JSON tree is
 *   written as a Value with no kind, read back as null (protobuf-es does that
 *   inside objects but throws on one in args);
 * - an unknown field inside a Struct's map entry is skipped (protobuf-es's map
 *   reader does not skip it and fails on the bytes that follow);
 * - malformed input raises WireFormatError (protobuf-es raises plain Errors and
 *   lets a nested message's field run past the nested message's end).
 * -0, NaN and ±Infinity travel bit for bit, as with protobuf-es (JSON cannot
 * carry them: over HTTP -0 becomes 0 and the others null).
 *
 * Every function is synchronous. Encoders write into shared slabs and return a
 * view of one (no copy, no ArrayBuffer per message): the caller owns the bytes
 * of the view, but `.buffer` holds other messages too.
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
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
import { NEEDS_MERGE, Reader, WireFormatError, Writer } from "./buffer.js";
import { ENQUEUE_REQUEST_SHAPE, readEnqueueRequest, writeEnqueueRequestBody, type EnqueueOptionsFields } from "./enqueue.js";
import {
  ENQUEUE_STREAM_REQUEST_SHAPE,
  ENQUEUE_STREAM_RESPONSE_SHAPE,
  SETTLE_STREAM_REQUEST_SHAPE,
  SETTLE_STREAM_RESPONSE_SHAPE,
  readEnqueueStreamRequest,
  readEnqueueStreamResponse,
  readSettleStreamRequest,
  readSettleStreamResponse,
  writeEnqueueStreamRequestBody,
  writeEnqueueStreamResponseBody,
  writeSettleStreamRequestBody,
  writeSettleStreamResponseBody,
  type EnqueueCall,
  type EnqueueOutcome,
  type SettleCall,
  type SettleOutcome,
  type WireCallError,
} from "./fastpath.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import {
  readDurationMs,
  readListBody,
  readStructBody,
  readTimestampMs,
  readValue,
  writeDurationField,
  writeListBody,
  writeStructBody,
  writeTimestampField,
  writeValueBody,
} from "./json.js";
import { LEAF, normalize, type Shape } from "./merge.js";
import { JOB_RESPONSE_SHAPE, readJobResponse, writeJobResponseBody } from "./unary.js";
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

export { WireFormatError };
export type {
  EnqueueBatch,
  EnqueueBatchResult,
  EnqueueCall,
  EnqueueOptionsFields,
  EnqueueOutcome,
  SettleCall,
  SettleOutcome,
  WireAckRequest,
  WireAckResponse,
  WireBatchJobError,
  WireCallError,
  WireNackRequest,
};

const w = new Writer();

function decode<T>(bytes: Uint8Array, s: Shape, read: (r: Reader, end: number) => T): T {
  try {
    return read(new Reader(bytes), bytes.length);
  } catch (e) {
    if (e !== NEEDS_MERGE) throw e;
  }
  return again(normalize(bytes, s), read);
}

/** The second pass, over input where no singular message field repeats. */
function again<T>(flat: Uint8Array, read: (r: Reader, end: number) => T): T {
  try {
    return read(new Reader(flat), flat.length);
  } catch (e) {
    // Cannot happen while the shapes list every field a decoder merges; never let the sentinel out.
    if (e === NEEDS_MERGE) throw new WireFormatError("a repeated message field could not be merged");
    throw e;
  }
}

// The `now` of the decode in progress, for readers that turn a relative ttl into an instant.
let decodeNow = 0;

// --- ojs.v1.Job ----------------------------------------------------------------------

/** ojs.v1.Job, as toBinary(JobSchema, jobToProto(job)). */
export function encodeJob(job: Job): Uint8Array {
  w.reset();
  writeJobBody(w, job);
  return w.finish();
}

/** ojs.v1.Job, as jobFromProto(fromBinary(JobSchema, bytes)). */
export function decodeJob(bytes: Uint8Array): Job {
  try {
    return readJob(new Reader(bytes), bytes.length);
  } catch (e) {
    if (e !== NEEDS_MERGE) throw e;
  }
  return again(normalize(bytes, JOB_SHAPE), readJob);
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
export function encodeEnqueueBatchRequest(jobs: readonly NormalizedJobRequest[], defaults?: EnqueueOptionsFields, now: number = Date.now(), tunnel = true): Uint8Array {
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
  w.reset();
  writeAckRequestBody(w, req);
  return w.finish();
}
export function decodeAckRequest(bytes: Uint8Array): WireAckRequest {
  return decode(bytes, ACK_REQUEST_SHAPE, readAckRequest);
}

export function encodeAckResponse(res: WireAckResponse): Uint8Array {
  w.reset();
  writeAckResponseBody(w, res);
  return w.finish();
}
export function decodeAckResponse(bytes: Uint8Array): WireAckResponse {
  return decode(bytes, ACK_RESPONSE_SHAPE, readAckResponse);
}

/** ojs.v1.NackRequest, as jobErrorToProto writes the error: `retryable` unset goes out as false. */
export function encodeNackRequest(req: WireNackRequest): Uint8Array {
  w.reset();
  writeNackRequestBody(w, req);
  return w.finish();
}
export function decodeNackRequest(bytes: Uint8Array): WireNackRequest {
  return decode(bytes, NACK_REQUEST_SHAPE, readNackRequest);
}

/** ojs.v1.NackResponse; `attempt` has no field and is not sent. */
export function encodeNackResponse(res: NackResult): Uint8Array {
  w.reset();
  writeNackResponseBody(w, res);
  return w.finish();
}
/** An unknown or unset state reads as "retryable", as the gRPC transport reads it. */
export function decodeNackResponse(bytes: Uint8Array): NackResult {
  return decode(bytes, NACK_RESPONSE_SHAPE, readNackResponse);
}

/** ojs.v1.EnqueueResponse, GetJobResponse or CancelJobResponse of a job, as toBinary(…, { job: jobToProto(job) }). */
export function encodeJobResponse(job: Job): Uint8Array {
  w.reset();
  writeJobResponseBody(w, job);
  return w.finish();
}

/** ojs.v1.EnqueueResponse, GetJobResponse or CancelJobResponse: the job in field 1 (undefined if none). */
export function decodeJobResponse(bytes: Uint8Array): Job | undefined {
  return decode(bytes, JOB_RESPONSE_SHAPE, readJobResponse);
}

/** ojs.v1.FetchResponse. */
export function encodeFetchResponse(jobs: readonly Job[]): Uint8Array {
  w.reset();
  writeFetchResponseBody(w, jobs);
  return w.finish();
}
export function decodeFetchResponse(bytes: Uint8Array): Job[] {
  return decode(bytes, FETCH_RESPONSE_SHAPE, readFetchResponse);
}

// --- ojsconnect.v1 fast-path frames ----------------------------------------------------------

export function encodeEnqueueStreamRequest(calls: readonly EnqueueCall[], now: number = Date.now()): Uint8Array {
  w.reset();
  writeEnqueueStreamRequestBody(w, calls, now);
  return w.finish();
}
export function decodeEnqueueStreamRequest(bytes: Uint8Array, now: number = Date.now()): EnqueueCall[] {
  decodeNow = now;
  return decode(bytes, ENQUEUE_STREAM_REQUEST_SHAPE, readEnqueueStreamRequestNow);
}
function readEnqueueStreamRequestNow(r: Reader, end: number): EnqueueCall[] {
  return readEnqueueStreamRequest(r, end, decodeNow);
}

export function encodeEnqueueStreamResponse(outcomes: readonly EnqueueOutcome[]): Uint8Array {
  w.reset();
  writeEnqueueStreamResponseBody(w, outcomes);
  return w.finish();
}
export function decodeEnqueueStreamResponse(bytes: Uint8Array): EnqueueOutcome[] {
  return decode(bytes, ENQUEUE_STREAM_RESPONSE_SHAPE, readEnqueueStreamResponse);
}

export function encodeSettleStreamRequest(calls: readonly SettleCall[]): Uint8Array {
  w.reset();
  writeSettleStreamRequestBody(w, calls);
  return w.finish();
}
export function decodeSettleStreamRequest(bytes: Uint8Array): SettleCall[] {
  return decode(bytes, SETTLE_STREAM_REQUEST_SHAPE, readSettleStreamRequest);
}

export function encodeSettleStreamResponse(outcomes: readonly SettleOutcome[]): Uint8Array {
  w.reset();
  writeSettleStreamResponseBody(w, outcomes);
  return w.finish();
}
export function decodeSettleStreamResponse(bytes: Uint8Array): SettleOutcome[] {
  return decode(bytes, SETTLE_STREAM_RESPONSE_SHAPE, readSettleStreamResponse);
}

// --- building blocks: google.protobuf well-known types -----------------------------------------

/** google.protobuf.Value of any JSON value (numbers as doubles; -0, NaN and ±Infinity kept bit for bit). */
export function encodeValue(v: JsonValue): Uint8Array {
  w.reset();
  writeValueBody(w, v);
  return w.finish();
}
/** google.protobuf.Value; one with no kind reads as null. */
export function decodeValue(bytes: Uint8Array): JsonValue {
  return decode(bytes, LEAF, (r, end) => readValue(r, end, null));
}

export function encodeStruct(o: JsonObject): Uint8Array {
  w.reset();
  writeStructBody(w, o);
  return w.finish();
}
export function decodeStruct(bytes: Uint8Array): JsonObject {
  return decode(bytes, LEAF, (r, end) => readStructBody(r, end, {}));
}

export function encodeListValue(list: readonly JsonValue[]): Uint8Array {
  w.reset();
  writeListBody(w, list);
  return w.finish();
}
export function decodeListValue(bytes: Uint8Array): JsonValue[] {
  return decode(bytes, LEAF, (r, end) => readListBody(r, end, []));
}

/** google.protobuf.Timestamp of a Date (milliseconds; throws RangeError on an invalid Date). */
export function encodeTimestamp(d: Date): Uint8Array {
  w.reset();
  writeTimestampField(w, 0x0a, d);
  // Written as a field of tag + length: the message is what follows them (always < 128 bytes).
  return w.finish().subarray(2);
}
/** google.protobuf.Timestamp to a Date; digits finer than a millisecond are dropped. */
export function decodeTimestamp(bytes: Uint8Array): Date {
  return new Date(decode(bytes, LEAF, readTimestampMs));
}

/** google.protobuf.Duration of milliseconds (nanos rounded, as durationFromMs). */
export function encodeDuration(ms: number): Uint8Array {
  w.reset();
  writeDurationField(w, 0x0a, ms);
  return w.finish().subarray(2);
}
/** google.protobuf.Duration to milliseconds (fractional below a millisecond). */
export function decodeDuration(bytes: Uint8Array): number {
  return decode(bytes, LEAF, readDurationMs);
}
