/**
 * The worker-side messages of ojs.v1 (proto/ojs/v1/worker.proto): AckRequest,
 * AckResponse, NackRequest, NackResponse, FetchResponse; tags stamped from the descriptors (README.md).
 */
import type { Job, JobError } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { NackResult } from "../../model/system.js";
import type { Writer } from "./buffer.js";
import type { Reader } from "./reader.js";
import { writeStringField, writeTimestampField } from "./json.js";
import { fieldTable, readFields } from "./field-table.js";
import { AckRequestSchema, AckResponseSchema, NackRequestSchema, NackResponseSchema } from "../../../gen/ojs/v1/worker_pb.js";
import { JOB_ERROR_SHAPE, JOB_SHAPE, readJob, readJobError, resultFromStruct, writeJobBody, writeJobErrorBody, writeBoolTrue, writeResultBody } from "./job.js";
import { stateName, stateNumber } from "./enums.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
import { readRepeated, writeEnumField, writeMessageField, writeMessageFields } from "./fields.js";

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

export const ACK_REQUEST_FIELDS = fieldTable(AckRequestSchema);

export function readAckRequest(r: Reader, end: number): WireAckRequest {
  const [jobId = "", result] = readFields(r, end, ACK_REQUEST_FIELDS) as [string?, JsonObject?];
  const a: WireAckRequest = { jobId };
  if (result) a.result = resultFromStruct(result);
  return a;
}

export const NACK_REQUEST_FIELDS = fieldTable(NackRequestSchema, { error: readJobError });

export function readNackRequest(r: Reader, end: number): WireNackRequest {
  const [jobId = "", error] = readFields(r, end, NACK_REQUEST_FIELDS) as [string?, JobError?];
  const n: WireNackRequest = { jobId };
  if (error) n.error = error;
  return n;
}

export const ACK_RESPONSE_FIELDS = fieldTable(AckResponseSchema);

export function readAckResponse(r: Reader, end: number): WireAckResponse {
  const [acknowledged = false] = readFields(r, end, ACK_RESPONSE_FIELDS) as [boolean?];
  return { acknowledged };
}

export const NACK_RESPONSE_FIELDS = fieldTable(NackResponseSchema);

/** An unknown or missing state reads as "retryable", as the gRPC transport has it. */
export function readNackResponse(r: Reader, end: number): NackResult {
  const [state = 0, next] = readFields(r, end, NACK_RESPONSE_FIELDS) as [number?, number?];
  const n: NackResult = { state: stateName(state) ?? "retryable" };
  if (next !== undefined) n.nextAttemptAt = new Date(next);
  return n;
}

export function readFetchResponse(r: Reader, end: number): Job[] {
  return readRepeated(r, end, 0x0a /* FETCH_RESPONSE.jobs */, readJob);
}
