/**
 * The worker-side messages of ojs.v1 (proto/ojs/v1/worker.proto):
 * AckRequest: 1 job_id, 2 result (Struct)      AckResponse: 1 acknowledged
 * NackRequest: 1 job_id, 2 error (JobError)    NackResponse: 1 state, 2 next_attempt_at
 * FetchResponse: 1 jobs (repeated Job)
 */
import type { Job, JobError } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { NackResult } from "../../model/system.js";
import { NEEDS_MERGE, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { fieldEnd, readStructBody, readTimestampMs, writeStringField, writeTimestampField } from "./json.js";
import {
  JOB_ERROR_SHAPE,
  JOB_SHAPE,
  readJob,
  readJobError,
  resultFromStruct,
  writeJobBody,
  writeJobErrorBody,
  writeResultBody,
} from "./job.js";
import { stateName, stateNumber } from "./enums.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";

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
  writeStringField(w, 0x0a, a.jobId);
  if (a.result !== undefined) {
    w.byte(0x12);
    const at = w.open();
    writeResultBody(w, a.result);
    w.close(at);
  }
}

/** As jobErrorToProto: an error that does not say `retryable` goes out as false. */
export function writeNackRequestBody(w: Writer, n: WireNackRequest): void {
  writeStringField(w, 0x0a, n.jobId);
  if (n.error) {
    w.byte(0x12);
    const at = w.open();
    writeJobErrorBody(w, n.error);
    w.close(at);
  }
}

export function writeAckResponseBody(w: Writer, a: WireAckResponse): void {
  if (a.acknowledged) w.byte2(0x08, 1);
}

/** `attempt` has no field in the proto and is not sent; an unknown state goes out as UNSPECIFIED. */
export function writeNackResponseBody(w: Writer, n: NackResult): void {
  const state = stateNumber(n.state);
  if (state > 0) w.byte2(0x08, state);
  if (n.nextAttemptAt) writeTimestampField(w, 0x12, n.nextAttemptAt);
}

export function writeFetchResponseBody(w: Writer, jobs: readonly Job[]): void {
  for (let i = 0; i < jobs.length; i++) {
    w.byte(0x0a);
    const at = w.open();
    writeJobBody(w, jobs[i]!);
    w.close(at);
  }
}

// --- decode -----------------------------------------------------------------------

export function readAckRequest(r: Reader, end: number): WireAckRequest {
  let jobId = "";
  let result: JsonObject | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) jobId = r.string();
    else if (t === 0x12) {
      const e = fieldEnd(r);
      result = readStructBody(r, e, result ?? {});
    } else r.skip(t);
  }
  expectEnd(r, end);
  const a: WireAckRequest = { jobId };
  if (result) a.result = resultFromStruct(result);
  return a;
}

export function readNackRequest(r: Reader, end: number): WireNackRequest {
  let jobId = "";
  let error: JobError | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) jobId = r.string();
    else if (t === 0x12) {
      if (error) throw NEEDS_MERGE;
      error = readJobError(r, fieldEnd(r));
    } else r.skip(t);
  }
  expectEnd(r, end);
  const n: WireNackRequest = { jobId };
  if (error) n.error = error;
  return n;
}

export function readAckResponse(r: Reader, end: number): WireAckResponse {
  let acknowledged = false;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08) acknowledged = r.bool();
    else r.skip(t);
  }
  expectEnd(r, end);
  return { acknowledged };
}

/** An unknown or missing state reads as "retryable", as the gRPC transport has it. */
export function readNackResponse(r: Reader, end: number): NackResult {
  let state = 0;
  let next: number | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08) state = r.uint32() | 0;
    else if (t === 0x12) {
      if (next !== undefined) throw NEEDS_MERGE;
      next = readTimestampMs(r, fieldEnd(r));
    } else r.skip(t);
  }
  expectEnd(r, end);
  const n: NackResult = { state: stateName(state) ?? "retryable" };
  if (next !== undefined) n.nextAttemptAt = new Date(next);
  return n;
}

export function readFetchResponse(r: Reader, end: number): Job[] {
  const jobs: Job[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) jobs.push(readJob(r, fieldEnd(r)));
    else r.skip(t);
  }
  expectEnd(r, end);
  return jobs;
}
