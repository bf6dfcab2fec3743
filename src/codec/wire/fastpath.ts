/**
 * The frames of ojsconnect.v1.FastPathService (proto/ojsconnect/v1/fastpath.proto)
 * as plain objects, with the ojs.v1 messages inside them in domain form.
 Tags stamped from the descriptors (README.md)
 * (CALL_ERROR, ENQUEUE_CALL, ENQUEUE_OUTCOME, SETTLE_CALL, SETTLE_OUTCOME, ...);
 * the oneofs of the calls and outcomes are read as "at most one member".
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { NackResult } from "../../model/system.js";
import { NEEDS_MERGE, WireFormatError, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { ENQUEUE_REQUEST_SHAPE, readEnqueueRequest, writeEnqueueRequestBody } from "./enqueue.js";
import { fieldEnd, writeStringField, writeTag } from "./json.js";
import { deferMessage, onceMessage, readLoneField, readRepeated, writeMessageField, writeMessageFields } from "./fields.js";
import { writeBoolTrue } from "./job.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { ASSIGNED_JOB_SHAPE, FROM_REQUEST_ALL, sharedWithEntry, writeAssignedJobField } from "./assigned.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
import { fieldTable, readFields } from "./field-table.js";
import { CallErrorSchema } from "../../../gen/ojsconnect/v1/fastpath_pb.js";
import {
  ACK_REQUEST_SHAPE,
  NACK_REQUEST_SHAPE,
  NACK_RESPONSE_SHAPE,
  readAckRequest,
  readAckResponse,
  readNackRequest,
  readNackResponse,
  writeAckRequestBody,
  writeAckResponseBody,
  writeNackRequestBody,
  writeNackResponseBody,
  type WireAckRequest,
  type WireAckResponse,
  type WireNackRequest,
} from "./worker.js";

/** ojsconnect.v1.CallError: why one call of a stream failed. `details` is left out when empty. */
export interface WireCallError {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, string>;
}

/** One pipelined enqueue. `request` is absent only when a peer sent none. */
export interface EnqueueCall {
  seq: number;
  request?: NormalizedJobRequest;
}

/**
 * The answer to one enqueue: the job, or why not; neither when a peer set no result.
 * Encoding, `entry` (the call's request as the server decoded it) lets the job go as an
 * AssignedJob (./assigned.ts) without the fields it shares with it. Decoded from an AssignedJob,
 * `fromRequest` names the FROM_REQUEST fields the job lacks (readJob's "", [], {} there): the
 * caller sets them from its request with fillFromEntry(job, fromRequest, sentEntry(request)).
 */
export type EnqueueOutcome =
  | { seq: number; job: Job; error?: undefined; entry?: NormalizedJobRequest; fromRequest?: number }
  | { seq: number; error: WireCallError; job?: undefined; entry?: undefined; fromRequest?: undefined }
  | { seq: number; job?: undefined; error?: undefined; entry?: undefined; fromRequest?: undefined };

/** One pipelined ack, nack or start signal; none when a peer set no op. */
export type SettleCall =
  | { seq: number; workerId?: string; ack: WireAckRequest; nack?: undefined; started?: undefined }
  | { seq: number; workerId?: string; nack: WireNackRequest; ack?: undefined; started?: undefined }
  | { seq: number; workerId?: string; started: { jobId: string }; ack?: undefined; nack?: undefined }
  | { seq: number; workerId?: string; ack?: undefined; nack?: undefined; started?: undefined };

/** The answer to one settle call; none of them when a peer set no result. */
export type SettleOutcome =
  | { seq: number; ack: WireAckResponse; nack?: undefined; error?: undefined; started?: undefined }
  | { seq: number; nack: NackResult; ack?: undefined; error?: undefined; started?: undefined }
  | { seq: number; error: WireCallError; ack?: undefined; nack?: undefined; started?: undefined }
  | { seq: number; started: true; ack?: undefined; nack?: undefined; error?: undefined }
  | { seq: number; ack?: undefined; nack?: undefined; error?: undefined; started?: undefined };

const ENQUEUE_CALL_SHAPE: Shape = shape({ 2: one(() => ENQUEUE_REQUEST_SHAPE) });
export const ENQUEUE_STREAM_REQUEST_SHAPE: Shape = shape({ 1: many(() => ENQUEUE_CALL_SHAPE) });
const ENQUEUE_OUTCOME_SHAPE: Shape = shape({ 2: one(() => JOB_SHAPE, 1), 3: one(() => LEAF, 1), 4: one(() => ASSIGNED_JOB_SHAPE, 1) });
export const ENQUEUE_STREAM_RESPONSE_SHAPE: Shape = shape({ 1: many(() => ENQUEUE_OUTCOME_SHAPE) });
const SETTLE_CALL_SHAPE: Shape = shape({ 2: one(() => ACK_REQUEST_SHAPE, 1), 3: one(() => NACK_REQUEST_SHAPE, 1), 5: one(() => LEAF, 1) });
export const SETTLE_STREAM_REQUEST_SHAPE: Shape = shape({ 1: many(() => SETTLE_CALL_SHAPE) });
const SETTLE_OUTCOME_SHAPE: Shape = shape({ 2: one(() => LEAF, 1), 3: one(() => NACK_RESPONSE_SHAPE, 1), 4: one(() => LEAF, 1), 5: one(() => LEAF, 1) });
export const SETTLE_STREAM_RESPONSE_SHAPE: Shape = shape({ 1: many(() => SETTLE_OUTCOME_SHAPE) });

// --- encode -----------------------------------------------------------------------

function writeSeq(w: Writer, tag: number, seq: number): void {
  if (seq >>> 0 !== seq) throw new Error(`cannot encode seq: invalid uint32: ${seq}`);
  if (seq !== 0) {
    writeTag(w, tag);
    w.uint32(seq);
  }
}

export function writeCallErrorBody(w: Writer, e: WireCallError): void {
  writeStringField(w, 0x0a /* CALL_ERROR.code */, e.code);
  writeStringField(w, 0x12 /* CALL_ERROR.message */, e.message);
  if (e.retryable) writeBoolTrue(w, 0x18 /* CALL_ERROR.retryable */);
  const details = e.details;
  if (details) {
    const keys = Object.keys(details);
    for (let i = 0; i < keys.length; i++) {
      // A map entry carries key and value even when empty, as protobuf-es writes it.
      writeTag(w, 0x22 /* CALL_ERROR.details */);
      const at = w.open();
      writeTag(w, 0x0a /* MAP_ENTRY.key */);
      w.string(keys[i]!);
      writeTag(w, 0x12 /* MAP_ENTRY.value */);
      w.string(details[keys[i]!]!);
      w.close(at);
    }
  }
}

function writeStartedBody(w: Writer, started: { jobId: string }): void {
  writeStringField(w, 0x0a /* STARTED_REQUEST.jobId */, started.jobId);
}

function writeEnqueueCallBody(w: Writer, c: EnqueueCall): void {
  writeSeq(w, 0x08 /* ENQUEUE_CALL.seq */, c.seq);
  if (c.request) {
    writeTag(w, 0x12 /* ENQUEUE_CALL.request */);
    const at = w.open();
    writeEnqueueRequestBody(w, c.request, encodeNow);
    w.close(at);
  }
}

function writeEnqueueOutcomeBody(w: Writer, o: EnqueueOutcome): void {
  writeSeq(w, 0x08 /* ENQUEUE_OUTCOME.seq */, o.seq);
  const bits = o.entry ? sharedWithEntry(o.job, o.entry) : 0;
  if (bits !== 0) writeAssignedJobField(w, 0x22 /* ENQUEUE_OUTCOME.assigned */, o.job!, bits);
  else if (o.job) writeMessageField(w, 0x12 /* ENQUEUE_OUTCOME.job */, writeJobBody, o.job);
  else if (o.error) writeMessageField(w, 0x1a /* ENQUEUE_OUTCOME.error */, writeCallErrorBody, o.error);
}

function writeSettleCallBody(w: Writer, c: SettleCall): void {
  writeSeq(w, 0x08 /* SETTLE_CALL.seq */, c.seq);
  if (c.ack) writeMessageField(w, 0x12 /* SETTLE_CALL.ack */, writeAckRequestBody, c.ack);
  else if (c.nack) writeMessageField(w, 0x1a /* SETTLE_CALL.nack */, writeNackRequestBody, c.nack);
  writeStringField(w, 0x22 /* SETTLE_CALL.workerId */, c.workerId ?? "");
  // started after worker_id: in field-number order, as protobuf-es writes it.
  if (c.started) writeMessageField(w, 0x2a /* SETTLE_CALL.started */, writeStartedBody, c.started);
}

function writeSettleOutcomeBody(w: Writer, o: SettleOutcome): void {
  writeSeq(w, 0x08 /* SETTLE_OUTCOME.seq */, o.seq);
  if (o.ack) writeMessageField(w, 0x12 /* SETTLE_OUTCOME.ack */, writeAckResponseBody, o.ack);
  else if (o.nack) writeMessageField(w, 0x1a /* SETTLE_OUTCOME.nack */, writeNackResponseBody, o.nack);
  else if (o.error) writeMessageField(w, 0x22 /* SETTLE_OUTCOME.error */, writeCallErrorBody, o.error);
  else if (o.started) {
    writeTag(w, 0x2a /* SETTLE_OUTCOME.started */);
    w.byte(0); // an empty StartedResponse
  }
}

// The `now` of the enqueue-stream encode in progress (encoders are synchronous).
let encodeNow = 0;

export function writeEnqueueStreamRequestBody(w: Writer, calls: readonly EnqueueCall[], now: number): void {
  encodeNow = now;
  writeMessageFields(w, 0x0a /* ENQUEUE_STREAM_REQUEST.calls */, writeEnqueueCallBody, calls);
}

export function writeEnqueueStreamResponseBody(w: Writer, outcomes: readonly EnqueueOutcome[]): void {
  writeMessageFields(w, 0x0a /* ENQUEUE_STREAM_RESPONSE.outcomes */, writeEnqueueOutcomeBody, outcomes);
}

export function writeSettleStreamRequestBody(w: Writer, calls: readonly SettleCall[]): void {
  writeMessageFields(w, 0x0a /* SETTLE_STREAM_REQUEST.calls */, writeSettleCallBody, calls);
}

export function writeSettleStreamResponseBody(w: Writer, outcomes: readonly SettleOutcome[]): void {
  writeMessageFields(w, 0x0a /* SETTLE_STREAM_RESPONSE.outcomes */, writeSettleOutcomeBody, outcomes);
}

// --- decode -----------------------------------------------------------------------

export const CALL_ERROR_FIELDS = fieldTable(CallErrorSchema);

export function readCallError(r: Reader, end: number): WireCallError {
  const [code = "", message = "", retryable = false, details] = readFields(r, end, CALL_ERROR_FIELDS) as [string?, string?, boolean?, Record<string, string>?];
  const out: WireCallError = { code, message, retryable };
  if (details) out.details = details;
  return out;
}

// The `now` of the enqueue-stream decode in progress, for the requests' relative ttl.
let decodeNow = 0;

function readEnqueueRequestNow(r: Reader, end: number): NormalizedJobRequest {
  return readEnqueueRequest(r, end, decodeNow);
}

function readEnqueueCall(r: Reader, end: number): EnqueueCall {
  let seq = 0;
  let request: NormalizedJobRequest | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08 /* ENQUEUE_CALL.seq */) seq = r.uint32();
    else if (t === 0x12 /* ENQUEUE_CALL.request */) request = onceMessage(r, request, readEnqueueRequestNow);
    else r.skip(t);
  }
  expectEnd(r, end);
  return request ? { seq, request } : { seq };
}

export function readEnqueueStreamRequest(r: Reader, end: number, now: number): EnqueueCall[] {
  decodeNow = now;
  return readRepeated(r, end, 0x0a /* ENQUEUE_STREAM_REQUEST.calls */, readEnqueueCall);
}

// The from_request bits of the last AssignedJob readAssigned read.
let assignedBits = 0;

/** An AssignedJob body: its job as readJob makes it (an absent job reads as an empty one), the bits in assignedBits. */
function readAssigned(r: Reader, end: number): Job {
  let jobAt = -1;
  let bits = 0;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* ASSIGNED_JOB.job */) jobAt = deferMessage(r, jobAt);
    else if (t === 0x10 /* ASSIGNED_JOB.fromRequest */) bits = r.uint32();
    else r.skip(t);
  }
  expectEnd(r, end);
  // FROM_PREVIOUS and beyond: nothing an enqueue call's answer may say.
  if (bits & ~FROM_REQUEST_ALL) throw new WireFormatError(`an enqueue call's answer takes fields from elsewhere than its request (bits ${bits})`);
  assignedBits = bits;
  if (jobAt < 0) return readJob(r, r.pos);
  r.pos = jobAt;
  const job = readJob(r, fieldEnd(r));
  r.pos = end;
  return job;
}

function readEnqueueOutcome(r: Reader, end: number): EnqueueOutcome {
  let seq = 0;
  let job: Job | undefined;
  let error: WireCallError | undefined;
  let fromRequest = 0;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08 /* ENQUEUE_OUTCOME.seq */) seq = r.uint32();
    else if (t === 0x12 /* ENQUEUE_OUTCOME.job */ || t === 0x1a /* ENQUEUE_OUTCOME.error */ || t === 0x22 /* ENQUEUE_OUTCOME.assigned */) {
      // A second member of the oneof (merge or replace): merge.ts sorts it out.
      if (job || error) throw NEEDS_MERGE;
      if (t === 0x12 /* ENQUEUE_OUTCOME.job */) job = readJob(r, fieldEnd(r));
      else if (t === 0x22 /* ENQUEUE_OUTCOME.assigned */) {
        job = readAssigned(r, fieldEnd(r));
        fromRequest = assignedBits;
      } else error = readCallError(r, fieldEnd(r));
    } else r.skip(t);
  }
  expectEnd(r, end);
  return job ? (fromRequest !== 0 ? { seq, job, fromRequest } : { seq, job }) : error ? { seq, error } : { seq };
}

export function readEnqueueStreamResponse(r: Reader, end: number): EnqueueOutcome[] {
  return readRepeated(r, end, 0x0a /* ENQUEUE_STREAM_RESPONSE.outcomes */, readEnqueueOutcome);
}

const readString = (r: Reader): string => r.string();

function readStarted(r: Reader, end: number): { jobId: string } {
  return { jobId: readLoneField(r, end, 0x0a /* STARTED_REQUEST.jobId */, readString, "") };
}

// What readSeqAndMember read besides seq (taken by its caller before any other read).
let memberTag = 0; // the tag of the oneof member read, 0 for none
let memberValue: unknown;
let workerIdRead = "";

/**
 * SettleCall and SettleOutcome share their tags (checked by the tags test): seq in field 1 and a
 * oneof of ack, nack and started in fields 2, 3 and 5; field 4 is SettleCall's workerId, outside
 * the oneof, or (`field4InOneof`) SettleOutcome's error, in it. `readMember` reads a member (its
 * tag just read). Returns seq; the member is left in memberTag and memberValue.
 */
function readSeqAndMember(r: Reader, end: number, readMember: (r: Reader, t: number) => unknown, field4InOneof: boolean): number {
  let seq = 0;
  let tag = 0;
  let value: unknown;
  let workerId = "";
  while (r.pos < end) {
    const t = r.tag();
    // seq, in every message, first, as in the enqueue readers.
    if (t === 0x08 /* SETTLE_CALL.seq */) {
      seq = r.uint32();
      continue;
    }
    switch (t) {
      case 0x12 /* SETTLE_CALL.ack */:
      case 0x1a /* SETTLE_CALL.nack */:
      case 0x22 /* SETTLE_CALL.workerId */:
      case 0x2a /* SETTLE_CALL.started */:
        if (t === 0x22 /* SETTLE_CALL.workerId */ && !field4InOneof) {
          workerId = r.string();
          break;
        }
        // A second member of the oneof (merge or replace): merge.ts sorts it out.
        if (tag !== 0) throw NEEDS_MERGE;
        tag = t;
        value = readMember(r, t);
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  memberTag = tag;
  memberValue = value;
  workerIdRead = workerId;
  return seq;
}

function readCallMember(r: Reader, t: number): unknown {
  if (t === 0x12 /* SETTLE_CALL.ack */) return readAckRequest(r, fieldEnd(r));
  if (t === 0x1a /* SETTLE_CALL.nack */) return readNackRequest(r, fieldEnd(r));
  return readStarted(r, fieldEnd(r));
}

function readSettleCall(r: Reader, end: number): SettleCall {
  const seq = readSeqAndMember(r, end, readCallMember, false);
  const v = memberValue;
  const c: SettleCall =
    memberTag === 0x12 /* SETTLE_CALL.ack */
      ? { seq, ack: v as WireAckRequest }
      : memberTag === 0x1a /* SETTLE_CALL.nack */
        ? { seq, nack: v as WireNackRequest }
        : memberTag === 0x2a /* SETTLE_CALL.started */
          ? { seq, started: v as { jobId: string } }
          : { seq };
  if (workerIdRead) c.workerId = workerIdRead;
  return c;
}

export function readSettleStreamRequest(r: Reader, end: number): SettleCall[] {
  return readRepeated(r, end, 0x0a /* SETTLE_STREAM_REQUEST.calls */, readSettleCall);
}

function skipMessage(r: Reader, end: number): true {
  while (r.pos < end) r.skip(r.tag());
  expectEnd(r, end);
  return true;
}

function readOutcomeMember(r: Reader, t: number): unknown {
  if (t === 0x12 /* SETTLE_OUTCOME.ack */) return readAckResponse(r, fieldEnd(r));
  if (t === 0x1a /* SETTLE_OUTCOME.nack */) return readNackResponse(r, fieldEnd(r));
  if (t === 0x22 /* SETTLE_OUTCOME.error */) return readCallError(r, fieldEnd(r));
  return skipMessage(r, fieldEnd(r)); // an empty StartedResponse
}

function readSettleOutcome(r: Reader, end: number): SettleOutcome {
  const seq = readSeqAndMember(r, end, readOutcomeMember, true);
  const v = memberValue;
  return memberTag === 0x12 /* SETTLE_OUTCOME.ack */
    ? { seq, ack: v as WireAckResponse }
    : memberTag === 0x1a /* SETTLE_OUTCOME.nack */
      ? { seq, nack: v as NackResult }
      : memberTag === 0x22 /* SETTLE_OUTCOME.error */
        ? { seq, error: v as WireCallError }
        : memberTag === 0x2a /* SETTLE_OUTCOME.started */
          ? { seq, started: true }
          : { seq };
}

export function readSettleStreamResponse(r: Reader, end: number): SettleOutcome[] {
  return readRepeated(r, end, 0x0a /* SETTLE_STREAM_RESPONSE.outcomes */, readSettleOutcome);
}
