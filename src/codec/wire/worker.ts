/**
 * The worker-side messages of ojs.v1 (proto/ojs/v1/worker.proto): AckRequest,
 * AckResponse, NackRequest, NackResponse, FetchResponse; tags stamped from the descriptors (README.md).
 */
import type { Job, JobError } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { NackResult } from "../../model/system.js";
import type { Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { fieldEnd, readStructBody, writeStringField, writeTimestampField } from "./json.js";
import { JOB_ERROR_SHAPE, JOB_SHAPE, readJob, readJobError, resultFromStruct, writeJobBody, writeJobErrorBody, writeBoolTrue, writeResultBody } from "./job.js";
import { stateName, stateNumber } from "./enums.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
import { onceMessage, onceTimestamp, readLoneField, readRepeated, writeEnumField, writeMessageField, writeMessageFields } from "./fields.js";

/** ojs.v1.AckRequest. `result` is what the handler returned, any JSON. */
export interface WireAckRequest {
  jobId: string;
  result?: JsonValue;
}

/** ojs.v1.NackRequest. `error` is absent only when a peer sent none. */
export interface WireNackRequest {
  jobId: string;
  error?: JobError;
}

/** ojs.v1.AckResponse. */
export interface WireAckResponse {
  acknowledged: boolean;
}

export const ACK_REQUEST_SHAPE: Shape = shape({ 2: one(() => LEAF) });
export const NACK_REQUEST_SHAPE: Shape = shape({ 2: one(() => JOB_ERROR_SHAPE) });
export const NACK_RESPONSE_SHAPE: Shape = shape({ 2: one(() => LEAF) });
export const ACK_RESPONSE_SHAPE: Shape = LEAF;
export const FETCH_RESPONSE_SHAPE: Shape = shape({ 1: many(() => JOB_SHAPE) });

// --- encode -----------------------------------------------------------------------

export function writeAckRequestBody(w: Writer, a: WireAckRequest): void {
  writeStringField(w, 0x0a /* ACK_REQUEST.jobId */, a.jobId);
  if (a.result !== undefined) writeMessageField(w, 0x12 /* ACK_REQUEST.result */, writeResultBody, a.result);
}

/** As jobErrorToProto: an error that does not say `retryable` goes out as false. */
export function writeNackRequestBody(w: Writer, n: WireNackRequest): void {
  writeStringField(w, 0x0a /* NACK_REQUEST.jobId */, n.jobId);
  if (n.error) writeMessageField(w, 0x12 /* NACK_REQUEST.error */, writeJobErrorBody, n.error);
}

export function writeAckResponseBody(w: Writer, a: WireAckResponse): void {
  if (a.acknowledged) writeBoolTrue(w, 0x08 /* ACK_RESPONSE.acknowledged */);
}

/** `attempt` has no field in the proto and is not sent; an unknown state goes out as UNSPECIFIED. */
export function writeNackResponseBody(w: Writer, n: NackResult): void {
  writeEnumField(w, 0x08 /* NACK_RESPONSE.state */, stateNumber(n.state));
  if (n.nextAttemptAt) writeTimestampField(w, 0x12 /* NACK_RESPONSE.nextAttemptAt */, n.nextAttemptAt);
}

export function writeFetchResponseBody(w: Writer, jobs: readonly Job[]): void {
  writeMessageFields(w, 0x0a /* FETCH_RESPONSE.jobs */, writeJobBody, jobs);
}

// --- decode -----------------------------------------------------------------------

// What readJobIdAnd read in field 2 (taken by its caller before any other read).
let field2: unknown;

/**
 * AckRequest and NackRequest share their tags (checked by the tags test): the job id in field 1,
 * and in field 2 what `read2` reads (given what it read before, for merging). Returns the job id.
 */
function readJobIdAnd(r: Reader, end: number, read2: (r: Reader, prev: unknown) => unknown): string {
  let jobId = "";
  let v: unknown;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* ACK_REQUEST.jobId */) jobId = r.string();
    else if (t === 0x12 /* ACK_REQUEST.result */) v = read2(r, v);
    else r.skip(t);
  }
  expectEnd(r, end);
  field2 = v;
  return jobId;
}

function readResultStruct(r: Reader, prev: unknown): JsonObject {
  return readStructBody(r, fieldEnd(r), (prev as JsonObject | undefined) ?? {});
}

function readError(r: Reader, prev: unknown): JobError {
  return onceMessage(r, prev as JobError | undefined, readJobError);
}

export function readAckRequest(r: Reader, end: number): WireAckRequest {
  const a: WireAckRequest = { jobId: readJobIdAnd(r, end, readResultStruct) };
  if (field2 !== undefined) a.result = resultFromStruct(field2 as JsonObject);
  return a;
}

export function readNackRequest(r: Reader, end: number): WireNackRequest {
  const n: WireNackRequest = { jobId: readJobIdAnd(r, end, readError) };
  if (field2 !== undefined) n.error = field2 as JobError;
  return n;
}

const readBool = (r: Reader): boolean => r.bool();

export function readAckResponse(r: Reader, end: number): WireAckResponse {
  return { acknowledged: readLoneField(r, end, 0x08 /* ACK_RESPONSE.acknowledged */, readBool, false) };
}

/** An unknown or missing state reads as "retryable", as the gRPC transport has it. */
export function readNackResponse(r: Reader, end: number): NackResult {
  let state = 0;
  let next: number | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08 /* NACK_RESPONSE.state */) state = r.uint32() | 0;
    else if (t === 0x12 /* NACK_RESPONSE.nextAttemptAt */) next = onceTimestamp(r, next);
    else r.skip(t);
  }
  expectEnd(r, end);
  const n: NackResult = { state: stateName(state) ?? "retryable" };
  if (next !== undefined) n.nextAttemptAt = new Date(next);
  return n;
}

export function readFetchResponse(r: Reader, end: number): Job[] {
  return readRepeated(r, end, 0x0a /* FETCH_RESPONSE.jobs */, readJob);
}
