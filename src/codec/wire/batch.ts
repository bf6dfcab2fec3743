/**
 * ojs.v1.EnqueueBatchRequest / EnqueueBatchResponse (proto/ojs/v1/job.proto).
 * A BatchJobEntry has the field numbers of an EnqueueRequest (checked by the
 * tags test), so an entry is read and written as one; errors is a
 * map<int32, BatchJobError>. Tags stamped from the descriptors (README.md).
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { OPTIONS_SHAPE, readEnqueueRequest, readOptionsInto, writeEnqueueRequestBody, writeOptionsBody, type EnqueueOptionsFields } from "./enqueue.js";
import { fieldEnd, writeInt32Field, writeStringField, writeTag } from "./json.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
import { fieldTable, readFields } from "./field-table.js";
import { BatchJobErrorSchema } from "../../../gen/ojs/v1/job_pb.js";
import { deferMessage, onceMessage, writeMessageField, writeMessageFields } from "./fields.js";

/** ojs.v1.BatchJobError: why one entry of a batch was refused. */
export interface WireBatchJobError {
  code: string;
  message: string;
}

/**
 * An EnqueueBatchRequest: each entry as requestFromProto reads it, and the
 * default options as optionsFromProto reads them, so that the server's
 * "defaults apply where an entry sets nothing" is `{ ...defaults, ...entry }`.
 */
export interface EnqueueBatch {
  jobs: NormalizedJobRequest[];
  /** Absent when the request had no default_options. */
  defaults?: EnqueueOptionsFields;
}

/** An EnqueueBatchResponse; `errors` by entry index, empty when there were none. */
export interface EnqueueBatchResult {
  jobs: Job[];
  count: number;
  errors: Record<number, WireBatchJobError>;
}

const ENTRY_SHAPE: Shape = shape({ 3: one(() => OPTIONS_SHAPE) });
export const ENQUEUE_BATCH_REQUEST_SHAPE: Shape = shape({ 1: many(() => ENTRY_SHAPE), 2: one(() => OPTIONS_SHAPE) });
const ERROR_ENTRY_SHAPE: Shape = shape({ 2: one(() => LEAF) });
export const ENQUEUE_BATCH_RESPONSE_SHAPE: Shape = shape({ 1: many(() => JOB_SHAPE), 3: many(() => ERROR_ENTRY_SHAPE) });

export function writeEnqueueBatchRequestBody(
  w: Writer,
  jobs: readonly NormalizedJobRequest[],
  defaults: EnqueueOptionsFields | undefined,
  now: number,
  tunnel = true,
): void {
  for (let i = 0; i < jobs.length; i++) {
    writeTag(w, 0x0a /* BATCH_REQUEST.jobs */);
    const at = w.open();
    writeEnqueueRequestBody(w, jobs[i]!, now, tunnel);
    w.close(at);
  }
  if (defaults) {
    writeTag(w, 0x12 /* BATCH_REQUEST.defaultOptions */);
    const at = w.open();
    writeOptionsBody(w, defaults, now, tunnel);
    w.close(at);
  }
}

function writeBatchJobErrorBody(w: Writer, e: WireBatchJobError): void {
  writeStringField(w, 0x0a /* BATCH_ERROR.code */, e.code);
  writeStringField(w, 0x12 /* BATCH_ERROR.message */, e.message);
}

/** `count` defaults to the number of jobs, as the servers set it. */
export function writeEnqueueBatchResponseBody(
  w: Writer,
  jobs: readonly Job[],
  count: number,
  errors: Readonly<Record<number, WireBatchJobError>> | undefined,
): void {
  writeMessageFields(w, 0x0a /* BATCH_RESPONSE.jobs */, writeJobBody, jobs);
  writeInt32Field(w, 0x10 /* BATCH_RESPONSE.count */, count, "ojs.v1.EnqueueBatchResponse.count");
  if (errors) {
    // Object.keys order, as protobuf-es walks the same object: integer keys ascending.
    const keys = Object.keys(errors);
    for (let i = 0; i < keys.length; i++) {
      const e = errors[keys[i] as unknown as number]!;
      const index = Number(keys[i]);
      writeTag(w, 0x1a /* BATCH_RESPONSE.errors */);
      const at = w.open();
      // A map entry carries key and value even when zero, as protobuf-es writes it.
      writeTag(w, 0x08 /* MAP_ENTRY.intKey */);
      w.int32(index | 0);
      writeMessageField(w, 0x12 /* MAP_ENTRY.value */, writeBatchJobErrorBody, e);
      w.close(at);
    }
  }
}

export function readEnqueueBatchRequest(r: Reader, end: number, now: number): EnqueueBatch {
  const jobs: NormalizedJobRequest[] = [];
  let defaultsAt = -1;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* BATCH_REQUEST.jobs */) jobs.push(readEnqueueRequest(r, fieldEnd(r), now));
    else if (t === 0x12 /* BATCH_REQUEST.defaultOptions */) defaultsAt = deferMessage(r, defaultsAt);
    else r.skip(t);
  }
  expectEnd(r, end);
  const batch: EnqueueBatch = { jobs };
  if (defaultsAt >= 0) {
    const defaults: EnqueueOptionsFields = {};
    r.pos = defaultsAt;
    readOptionsInto(r, fieldEnd(r), defaults, now);
    r.pos = end;
    batch.defaults = defaults;
  }
  return batch;
}

export const BATCH_ERROR_FIELDS = fieldTable(BatchJobErrorSchema);

function readBatchJobError(r: Reader, end: number): WireBatchJobError {
  const [code = "", message = ""] = readFields(r, end, BATCH_ERROR_FIELDS) as [string?, string?];
  return { code, message };
}

export function readEnqueueBatchResponse(r: Reader, end: number): EnqueueBatchResult {
  const jobs: Job[] = [];
  let count = 0;
  const errors: Record<number, WireBatchJobError> = {};
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* BATCH_RESPONSE.jobs */) jobs.push(readJob(r, fieldEnd(r)));
    else if (t === 0x10 /* BATCH_RESPONSE.count */) count = r.uint32() | 0;
    else if (t === 0x1a /* BATCH_RESPONSE.errors */) {
      const e = fieldEnd(r);
      let index = 0;
      let value: WireBatchJobError | undefined;
      while (r.pos < e) {
        const t2 = r.tag();
        if (t2 === 0x08 /* MAP_ENTRY.intKey */) index = r.uint32() | 0;
        else if (t2 === 0x12 /* MAP_ENTRY.value */) value = onceMessage(r, value, readBatchJobError);
        else r.skip(t2);
      }
      expectEnd(r, e);
      errors[index] = value ?? { code: "", message: "" };
    } else r.skip(t);
  }
  expectEnd(r, end);
  return { jobs, count, errors };
}
