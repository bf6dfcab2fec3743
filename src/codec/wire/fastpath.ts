/**
 * The frames of ojsconnect.v1.FastPathService (proto/ojsconnect/v1/fastpath.proto)
 * as plain objects, with the ojs.v1 messages inside them in domain form.
 *
 * CallError: 1 code, 2 message, 3 retryable, 4 details (map<string, string>)
 * EnqueueStreamRequest: 1 calls -> EnqueueCall: 1 seq, 2 request (EnqueueRequest)
 * EnqueueStreamResponse: 1 outcomes -> EnqueueOutcome: 1 seq, oneof { 2 job, 3 error }
 * SettleStreamRequest: 1 calls -> SettleCall: 1 seq, oneof { 2 ack, 3 nack, 5 started (StartedRequest: 1 job_id) }, 4 worker_id
 * SettleStreamResponse: 1 outcomes -> SettleOutcome: 1 seq, oneof { 2 ack, 3 nack, 4 error, 5 started (StartedResponse: empty) }
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { NackResult } from "../../model/system.js";
import { NEEDS_MERGE, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { ENQUEUE_REQUEST_SHAPE, readEnqueueRequest, writeEnqueueRequestBody } from "./enqueue.js";
import { fieldEnd, writeStringField } from "./json.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
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

/** The answer to one enqueue: the job, or why not; neither when a peer set no result. */
export type EnqueueOutcome =
  | { seq: number; job: Job; error?: undefined }
  | { seq: number; error: WireCallError; job?: undefined }
  | { seq: number; job?: undefined; error?: undefined };

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
const ENQUEUE_OUTCOME_SHAPE: Shape = shape({ 2: one(() => JOB_SHAPE, 1), 3: one(() => LEAF, 1) });
export const ENQUEUE_STREAM_RESPONSE_SHAPE: Shape = shape({ 1: many(() => ENQUEUE_OUTCOME_SHAPE) });
const SETTLE_CALL_SHAPE: Shape = shape({ 2: one(() => ACK_REQUEST_SHAPE, 1), 3: one(() => NACK_REQUEST_SHAPE, 1), 5: one(() => LEAF, 1) });
export const SETTLE_STREAM_REQUEST_SHAPE: Shape = shape({ 1: many(() => SETTLE_CALL_SHAPE) });
const SETTLE_OUTCOME_SHAPE: Shape = shape({ 2: one(() => LEAF, 1), 3: one(() => NACK_RESPONSE_SHAPE, 1), 4: one(() => LEAF, 1), 5: one(() => LEAF, 1) });
export const SETTLE_STREAM_RESPONSE_SHAPE: Shape = shape({ 1: many(() => SETTLE_OUTCOME_SHAPE) });

// --- encode -----------------------------------------------------------------------

function writeSeq(w: Writer, seq: number): void {
  if (seq >>> 0 !== seq) throw new Error(`cannot encode seq: invalid uint32: ${seq}`);
  if (seq !== 0) {
    w.byte(0x08);
    w.uint32(seq);
  }
}

export function writeCallErrorBody(w: Writer, e: WireCallError): void {
  writeStringField(w, 0x0a, e.code);
  writeStringField(w, 0x12, e.message);
  if (e.retryable) w.byte2(0x18, 1);
  const details = e.details;
  if (details) {
    const keys = Object.keys(details);
    for (let i = 0; i < keys.length; i++) {
      // A map entry carries key and value even when empty, as protobuf-es writes it.
      w.byte(0x22);
      const at = w.open();
      w.byte(0x0a);
      w.string(keys[i]!);
      w.byte(0x12);
      w.string(details[keys[i]!]!);
      w.close(at);
    }
  }
}

function writeNested(w: Writer, tag: number, body: () => void): void {
  w.byte(tag);
  const at = w.open();
  body();
  w.close(at);
}

export function writeEnqueueStreamRequestBody(w: Writer, calls: readonly EnqueueCall[], now: number): void {
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    w.byte(0x0a);
    const at = w.open();
    writeSeq(w, c.seq);
    if (c.request) {
      w.byte(0x12);
      const rat = w.open();
      writeEnqueueRequestBody(w, c.request, now);
      w.close(rat);
    }
    w.close(at);
  }
}

export function writeEnqueueStreamResponseBody(w: Writer, outcomes: readonly EnqueueOutcome[]): void {
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    w.byte(0x0a);
    const at = w.open();
    writeSeq(w, o.seq);
    if (o.job) {
      w.byte(0x12);
      const jat = w.open();
      writeJobBody(w, o.job);
      w.close(jat);
    } else if (o.error) {
      const e = o.error;
      writeNested(w, 0x1a, () => writeCallErrorBody(w, e));
    }
    w.close(at);
  }
}

export function writeSettleStreamRequestBody(w: Writer, calls: readonly SettleCall[]): void {
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    w.byte(0x0a);
    const at = w.open();
    writeSeq(w, c.seq);
    if (c.ack) {
      w.byte(0x12);
      const aat = w.open();
      writeAckRequestBody(w, c.ack);
      w.close(aat);
    } else if (c.nack) {
      w.byte(0x1a);
      const nat = w.open();
      writeNackRequestBody(w, c.nack);
      w.close(nat);
    }
    writeStringField(w, 0x22, c.workerId ?? "");
    // Field 5 after field 4, in field-number order as protobuf-es writes it.
    if (c.started) {
      const jobId = c.started.jobId;
      writeNested(w, 0x2a, () => writeStringField(w, 0x0a, jobId));
    }
    w.close(at);
  }
}

export function writeSettleStreamResponseBody(w: Writer, outcomes: readonly SettleOutcome[]): void {
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    w.byte(0x0a);
    const at = w.open();
    writeSeq(w, o.seq);
    if (o.ack) {
      w.byte(0x12);
      const aat = w.open();
      writeAckResponseBody(w, o.ack);
      w.close(aat);
    } else if (o.nack) {
      w.byte(0x1a);
      const nat = w.open();
      writeNackResponseBody(w, o.nack);
      w.close(nat);
    } else if (o.error) {
      const e = o.error;
      writeNested(w, 0x22, () => writeCallErrorBody(w, e));
    } else if (o.started) {
      w.byte2(0x2a, 0);
    }
    w.close(at);
  }
}

// --- decode -----------------------------------------------------------------------

export function readCallError(r: Reader, end: number): WireCallError {
  let code = "";
  let message = "";
  let retryable = false;
  let details: Record<string, string> | undefined;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        code = r.string();
        break;
      case 0x12:
        message = r.string();
        break;
      case 0x18:
        retryable = r.bool();
        break;
      case 0x22: {
        const e = fieldEnd(r);
        let k = "";
        let v = "";
        while (r.pos < e) {
          const t2 = r.tag();
          if (t2 === 0x0a) k = r.string();
          else if (t2 === 0x12) v = r.string();
          else r.skip(t2);
        }
        expectEnd(r, e);
        details ??= {};
        if (k === "__proto__") Object.defineProperty(details, k, { value: v, writable: true, enumerable: true, configurable: true });
        else details[k] = v;
        break;
      }
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const out: WireCallError = { code, message, retryable };
  if (details) out.details = details;
  return out;
}

function readEnqueueCall(r: Reader, end: number, now: number): EnqueueCall {
  let seq = 0;
  let request: NormalizedJobRequest | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08) seq = r.uint32();
    else if (t === 0x12) {
      if (request) throw NEEDS_MERGE;
      request = readEnqueueRequest(r, fieldEnd(r), now);
    } else r.skip(t);
  }
  expectEnd(r, end);
  return request ? { seq, request } : { seq };
}

export function readEnqueueStreamRequest(r: Reader, end: number, now: number): EnqueueCall[] {
  const calls: EnqueueCall[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) calls.push(readEnqueueCall(r, fieldEnd(r), now));
    else r.skip(t);
  }
  expectEnd(r, end);
  return calls;
}

function readEnqueueOutcome(r: Reader, end: number): EnqueueOutcome {
  let seq = 0;
  let job: Job | undefined;
  let error: WireCallError | undefined;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x08) seq = r.uint32();
    else if (t === 0x12) {
      // A second member of the oneof (merge or replace): merge.ts sorts it out.
      if (job || error) throw NEEDS_MERGE;
      job = readJob(r, fieldEnd(r));
    } else if (t === 0x1a) {
      if (job || error) throw NEEDS_MERGE;
      error = readCallError(r, fieldEnd(r));
    } else r.skip(t);
  }
  expectEnd(r, end);
  return job ? { seq, job } : error ? { seq, error } : { seq };
}

export function readEnqueueStreamResponse(r: Reader, end: number): EnqueueOutcome[] {
  const outcomes: EnqueueOutcome[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) outcomes.push(readEnqueueOutcome(r, fieldEnd(r)));
    else r.skip(t);
  }
  expectEnd(r, end);
  return outcomes;
}

function readSettleCall(r: Reader, end: number): SettleCall {
  let seq = 0;
  let ack: WireAckRequest | undefined;
  let nack: WireNackRequest | undefined;
  let started: { jobId: string } | undefined;
  let workerId = "";
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x08:
        seq = r.uint32();
        break;
      case 0x12:
        if (ack || nack || started) throw NEEDS_MERGE;
        ack = readAckRequest(r, fieldEnd(r));
        break;
      case 0x1a:
        if (ack || nack || started) throw NEEDS_MERGE;
        nack = readNackRequest(r, fieldEnd(r));
        break;
      case 0x2a: {
        if (ack || nack || started) throw NEEDS_MERGE;
        const e = fieldEnd(r);
        let jobId = "";
        while (r.pos < e) {
          const t2 = r.tag();
          if (t2 === 0x0a) jobId = r.string();
          else r.skip(t2);
        }
        expectEnd(r, e);
        started = { jobId };
        break;
      }
      case 0x22:
        workerId = r.string();
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const c: SettleCall = ack ? { seq, ack } : nack ? { seq, nack } : started ? { seq, started } : { seq };
  if (workerId) c.workerId = workerId;
  return c;
}

export function readSettleStreamRequest(r: Reader, end: number): SettleCall[] {
  const calls: SettleCall[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) calls.push(readSettleCall(r, fieldEnd(r)));
    else r.skip(t);
  }
  expectEnd(r, end);
  return calls;
}

function readSettleOutcome(r: Reader, end: number): SettleOutcome {
  let seq = 0;
  let ack: WireAckResponse | undefined;
  let nack: NackResult | undefined;
  let error: WireCallError | undefined;
  let started = false;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x08:
        seq = r.uint32();
        break;
      case 0x12:
        if (ack || nack || error || started) throw NEEDS_MERGE;
        ack = readAckResponse(r, fieldEnd(r));
        break;
      case 0x1a:
        if (ack || nack || error || started) throw NEEDS_MERGE;
        nack = readNackResponse(r, fieldEnd(r));
        break;
      case 0x22:
        if (ack || nack || error || started) throw NEEDS_MERGE;
        error = readCallError(r, fieldEnd(r));
        break;
      case 0x2a: {
        if (ack || nack || error || started) throw NEEDS_MERGE;
        const e = fieldEnd(r);
        while (r.pos < e) r.skip(r.tag());
        expectEnd(r, e);
        started = true;
        break;
      }
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  return ack ? { seq, ack } : nack ? { seq, nack } : error ? { seq, error } : started ? { seq, started: true } : { seq };
}

export function readSettleStreamResponse(r: Reader, end: number): SettleOutcome[] {
  const outcomes: SettleOutcome[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a) outcomes.push(readSettleOutcome(r, fieldEnd(r)));
    else r.skip(t);
  }
  expectEnd(r, end);
  return outcomes;
}
