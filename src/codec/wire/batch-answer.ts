/**
 * ojsconnect.v1.EnqueueBatchAnswer (proto/ojsconnect/v1/fastpath.proto): the
 * fast path's answer to a batch, each job without the fields it shares with
 * its request entry. A batch of a thousand jobs would otherwise come back with
 * every job's args, meta, type, queue and tags: bytes the client sent a moment
 * ago, encoded by the server and decoded by the client once more.
 *
 * The server leaves a field out only when the job holds exactly what the entry
 * decoded to (the same objects, element by element: anything the server made
 * anew, tenant meta say, travels in full). The client fills the fields in from
 * its entries as the server decoded them (sentEntry of each request, taken when
 * it encodes the request; or decodeSentEntries of the bytes), so that the Jobs
 * equal those of the full answer. What is saved is the server's encoding of
 * them, the client's decoding, and half the bytes on the wire.
 *
 * A client that sends BATCH_ANSWER_HEADER also takes FROM_PREVIOUS: a job
 * whose other fields (state, retry policy, timestamps...) are those of the job
 * before it comes as its id alone, the rest copied from that job's. The jobs
 * of one batch are made in the same instant from the same defaults, so that
 * is nearly every job, and decoding a retry policy and two timestamps per job
 * cost more than the rest of the answer. A server that does not know the
 * header answers without the bit, which the client reads as before.
 * Tags stamped from the descriptors (README.md).
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { Writer } from "./buffer.js";
import { WireFormatError } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { fieldEnd, writeTag } from "./json.js";
import { ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest } from "./batch.js";
import { deferMessage } from "./fields.js";
import { readJob, writeJobFromPrevious } from "./job.js";
import { copyRetry } from "./policies.js";
import { ASSIGNED_JOB_SHAPE, FROM_REQUEST, fillFromEntry, reservedKeyIn, sharedWithEntry, writeAssignedJobField } from "./assigned.js";
import { HAS_GENERIC_JOB_FIELDS } from "./job-generic.js";
import { many, shape, type Shape } from "./merge.js";
import { decode, encodeWith } from "./two-pass.js";

/** AssignedJob.from_request: every field but the id and the five FROM_REQUEST ones is the previous job's. */
export const FROM_PREVIOUS = 32;
/** Sent by a client that reads FROM_PREVIOUS, with the value "previous". */
export const BATCH_ANSWER_HEADER = "x-ojs-connect-batch-answer";

export const ENQUEUE_BATCH_ANSWER_SHAPE: Shape = shape({ 1: many(() => ASSIGNED_JOB_SHAPE) });

const sameInstant = (a: Date | undefined, b: Date | undefined): boolean => a === b || (a !== undefined && b !== undefined && a.getTime() === b.getTime());

/**
 * Whether every field writeJobBody writes of `job` but the id and the five entry fields encodes as
 * `prev`'s does (the same values; a Date the same instant; the same retry policy object). A job
 * with a unique policy, a result, errors, or anything the reader takes out of meta goes in full:
 * none is in a fresh batch, and withPreviousRest need not copy them. Field by field, in step with
 * writeJobBody and readJob (./job.ts): a walk over the keys cost more than encoding the fields.
 */
export function sameAsPrevious(job: Job, prev: Job | undefined): boolean {
  if (prev === undefined || HAS_GENERIC_JOB_FIELDS) return false;
  if (job.unique !== undefined || prev.unique !== undefined || job.result !== undefined || prev.result !== undefined) return false;
  if (job.errors.length !== 0 || prev.errors.length !== 0) return false;
  // Carried inside meta, as reserved keys a meta may also hold itself, which the reader lifts out
  // of either job's meta into fields it would copy.
  if (job.parentResults !== undefined || prev.parentResults !== undefined || job.retryDelayMs !== undefined || prev.retryDelayMs !== undefined) return false;
  if (reservedKeyIn(job.meta) || reservedKeyIn(prev.meta)) return false;
  return (
    job.state === prev.state &&
    job.priority === prev.priority &&
    job.attempt === prev.attempt &&
    job.maxAttempts === prev.maxAttempts &&
    job.retry === prev.retry &&
    sameInstant(job.createdAt, prev.createdAt) &&
    sameInstant(job.enqueuedAt, prev.enqueuedAt) &&
    sameInstant(job.scheduledAt, prev.scheduledAt) &&
    sameInstant(job.startedAt, prev.startedAt) &&
    sameInstant(job.completedAt, prev.completedAt) &&
    sameInstant(job.cancelledAt, prev.cancelledAt) &&
    sameInstant(job.expiresAt, prev.expiresAt) &&
    job.timeout === prev.timeout &&
    job.visibilityTimeout === prev.visibilityTimeout &&
    job.workflowId === prev.workflowId &&
    job.specversion === prev.specversion
  );
}

// --- encode -----------------------------------------------------------------------

// The entries of the answer being encoded, and whether FROM_PREVIOUS may be used (encoders are synchronous).
let encodeEntries: readonly NormalizedJobRequest[] = [];
let encodeFromPrevious = false;

function writeAnswerBody(w: Writer, jobs: readonly Job[]): void {
  const entries = encodeEntries;
  for (let i = 0; i < jobs.length; i++) {
    const bits = sharedWithEntry(jobs[i]!, entries[i]);
    if (encodeFromPrevious && sameAsPrevious(jobs[i]!, jobs[i - 1])) writeFromPreviousField(w, jobs[i]!, bits | FROM_PREVIOUS);
    else writeAssignedJobField(w, 0x0a /* BATCH_ANSWER.jobs */, jobs[i]!, bits);
  }
}

/**
 * writeAssignedJobField for a FROM_PREVIOUS job, through its own body writer: the shared
 * writeAssignedJobField and writeJobBody, optimized on single enqueues that never take this way,
 * would deopt on it at a process's first batch (docs/performance-batchq.md).
 */
function writeFromPreviousField(w: Writer, job: Job, bits: number): void {
  writeTag(w, 0x0a /* BATCH_ANSWER.jobs */);
  const at = w.open();
  writeTag(w, 0x0a /* ASSIGNED_JOB.job */);
  const jobAt = w.open();
  writeJobFromPrevious(w, job, bits);
  w.close(jobAt);
  writeTag(w, 0x10 /* ASSIGNED_JOB.fromRequest */);
  w.uint32(bits);
  w.close(at);
}

/**
 * The answer to a batch: `jobs[i]` is the job of `entries[i]`, the request entry as the server
 * decoded it. `fromPrevious`: the client reads FROM_PREVIOUS (it sent BATCH_ANSWER_HEADER).
 */
export function encodeEnqueueBatchAnswer(jobs: readonly Job[], entries: readonly NormalizedJobRequest[], fromPrevious = false): Uint8Array {
  encodeEntries = entries;
  encodeFromPrevious = fromPrevious;
  try {
    return encodeWith(writeAnswerBody, jobs);
  } finally {
    encodeEntries = [];
    encodeFromPrevious = false;
  }
}

// --- decode -----------------------------------------------------------------------

/**
 * `prev`'s fields (as readJob made them, in its order: one object shape) with the id and the entry
 * fields given, each object anew, so that no two Jobs share one.
 */
function withPreviousRest(id: string, type: string, queue: string, args: JsonValue[], meta: JsonObject, tags: string[], prev: Job): Job {
  if (prev.unique !== undefined || prev.result !== undefined || prev.errors.length !== 0 || prev.parentResults !== undefined || prev.retryDelayMs !== undefined)
    throw new WireFormatError("an assigned job takes its fields from a job that has some the answer never leaves out");
  // A fresh job of a batch: one literal with every field it has, in readJob's order (no fields
  // added one by one, each a transition and a larger property store, a thousand times a batch).
  if (freshShape(prev))
    return {
      id,
      type,
      queue,
      args,
      meta,
      state: prev.state,
      priority: prev.priority,
      attempt: prev.attempt,
      errors: [],
      tags,
      specversion: prev.specversion,
      maxAttempts: prev.maxAttempts,
      retry: copyRetry(prev.retry!),
      createdAt: new Date(prev.createdAt!.getTime()),
      enqueuedAt: new Date(prev.enqueuedAt!.getTime()),
    };
  const j: Job = {
    id,
    type,
    queue,
    args,
    meta,
    state: prev.state,
    priority: prev.priority,
    attempt: prev.attempt,
    errors: [],
    tags,
    specversion: prev.specversion,
  };
  if (prev.maxAttempts !== undefined) j.maxAttempts = prev.maxAttempts;
  if (prev.retry) j.retry = copyRetry(prev.retry);
  if (prev.createdAt) j.createdAt = new Date(prev.createdAt.getTime());
  if (prev.enqueuedAt) j.enqueuedAt = new Date(prev.enqueuedAt.getTime());
  if (prev.scheduledAt) j.scheduledAt = new Date(prev.scheduledAt.getTime());
  if (prev.startedAt) j.startedAt = new Date(prev.startedAt.getTime());
  if (prev.cancelledAt) j.cancelledAt = new Date(prev.cancelledAt.getTime());
  if (prev.completedAt) j.completedAt = new Date(prev.completedAt.getTime());
  if (prev.expiresAt) j.expiresAt = new Date(prev.expiresAt.getTime());
  if (prev.timeout !== undefined) j.timeout = prev.timeout;
  if (prev.visibilityTimeout !== undefined) j.visibilityTimeout = prev.visibilityTimeout;
  if (prev.workflowId !== undefined) j.workflowId = prev.workflowId;
  return j;
}

/** A job as readJob makes a freshly enqueued one: attempts, a retry policy, created and enqueued, nothing else optional. */
function freshShape(j: Job): boolean {
  return (
    j.maxAttempts !== undefined &&
    j.retry !== undefined &&
    j.createdAt !== undefined &&
    j.enqueuedAt !== undefined &&
    j.scheduledAt === undefined &&
    j.startedAt === undefined &&
    j.cancelledAt === undefined &&
    j.completedAt === undefined &&
    j.expiresAt === undefined &&
    j.timeout === undefined &&
    j.visibilityTimeout === undefined &&
    j.workflowId === undefined
  );
}

/** The id, when the job's body holds it and nothing else; undefined for anything else (read in full then). */
function idAlone(r: Reader, end: number): string | undefined {
  if (r.pos >= end || r.tag() !== 0x0a /* JOB.id */) return undefined;
  const id = r.string();
  return r.pos === end ? id : undefined;
}

function readAssignedJob(r: Reader, end: number, entry: NormalizedJobRequest | undefined, prev: Job | undefined): Job {
  // The job is read after the bits (it comes first): most jobs of an answer are an id taking the
  // rest from the previous job, made straight from it and the entry with no Job read and dropped.
  let jobAt = -1;
  let bits = 0;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* ASSIGNED_JOB.job */) jobAt = deferMessage(r, jobAt);
    else if (t === 0x10 /* ASSIGNED_JOB.fromRequest */) bits = r.uint32();
    else r.skip(t);
  }
  expectEnd(r, end);
  let job: Job | undefined;
  if (jobAt >= 0) {
    r.pos = jobAt;
    const jobEnd = fieldEnd(r);
    const id = bits & FROM_PREVIOUS && entry && prev ? idAlone(r, jobEnd) : undefined;
    if (id !== undefined) {
      r.pos = end;
      // What readJob (an empty field is a fresh "", [], {}), withPreviousRest and fillFromEntry below make of it.
      return withPreviousRest(
        id,
        bits & FROM_REQUEST.type ? entry!.type : "",
        bits & FROM_REQUEST.queue && entry!.queue !== undefined ? entry!.queue : "",
        bits & FROM_REQUEST.args ? entry!.args : [],
        bits & FROM_REQUEST.meta && entry!.meta !== undefined ? entry!.meta : {},
        bits & FROM_REQUEST.tags && entry!.tags !== undefined ? entry!.tags : [],
        prev!,
      );
    }
    r.pos = jobAt;
    job = readJob(r, fieldEnd(r));
    r.pos = end;
  }
  job ??= readJob(new Reader(new Uint8Array(0)), 0);
  if (bits !== 0) {
    if (!entry) throw new WireFormatError("an assigned job beyond the request's entries takes fields from the request");
    if (bits & FROM_PREVIOUS) {
      if (!prev) throw new WireFormatError("the first assigned job of an answer takes fields from the job before it");
      job = withPreviousRest(job.id, job.type, job.queue, job.args, job.meta, job.tags, prev);
    }
    fillFromEntry(job, bits, entry);
  }
  return job;
}

function readAnswer(r: Reader, end: number, entries: readonly NormalizedJobRequest[]): Job[] {
  const jobs: Job[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* BATCH_ANSWER.jobs */) jobs.push(readAssignedJob(r, fieldEnd(r), entries[jobs.length], jobs[jobs.length - 1]));
    else r.skip(t);
  }
  expectEnd(r, end);
  return jobs;
}

/**
 * A batch request's entries, decoded as the server decoded them (the same bytes, the same
 * decoder), so the fields an answer takes from them are exactly those the server compared,
 * lone surrogates, -0 and all. A client may do this while the server works on the batch.
 */
export function decodeSentEntries(request: Uint8Array): NormalizedJobRequest[] {
  return decode(request, ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest).jobs;
}

/**
 * The Jobs of an answer, each in full. `request` is the EnqueueBatchRequest the answer is to, as
 * sent, or its entries as decodeSentEntries read them.
 */
export function decodeEnqueueBatchAnswer(bytes: Uint8Array, request: Uint8Array | readonly NormalizedJobRequest[]): Job[] {
  const entries = request instanceof Uint8Array ? decodeSentEntries(request) : request;
  return decode(bytes, ENQUEUE_BATCH_ANSWER_SHAPE, (r, end) => readAnswer(r, end, entries));
}
