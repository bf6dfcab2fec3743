/**
 * ojsconnect.v1.EnqueueBatchAnswer (proto/ojsconnect/v1/fastpath.proto): the
 * fast path's answer to a batch, each job without the fields it shares with
 * its request entry. A batch of a thousand jobs would otherwise come back with
 * every job's args, meta, type, queue and tags: bytes the client sent a moment
 * ago, encoded by the server and decoded by the client once more.
 *
 * The server leaves a field out only when the job holds exactly what the entry
 * decoded to (the same objects, element by element: anything the server made
 * anew, tenant meta say, travels in full). The client decodes the request it
 * sent, as the server did, and fills the fields in from that, so that the Jobs
 * equal those of the full answer. That decode costs about what the left-out
 * fields would have cost to decode; what is saved is the server's encoding of
 * them and half the bytes on the wire.
 * Tags stamped from the descriptors (README.md).
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import type { Writer } from "./buffer.js";
import { WireFormatError } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { fieldEnd, writeTag } from "./json.js";
import { ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest } from "./batch.js";
import { onceMessage } from "./fields.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { many, one, shape, type Shape } from "./merge.js";
import { decode, encodeWith } from "./two-pass.js";

/** The bits of AssignedJob.from_request: which Job fields the client takes from its entry. */
export const FROM_REQUEST = { type: 1, queue: 2, args: 4, meta: 8, tags: 16 } as const;

const ASSIGNED_JOB_SHAPE: Shape = shape({ 1: one(() => JOB_SHAPE) });
export const ENQUEUE_BATCH_ANSWER_SHAPE: Shape = shape({ 1: many(() => ASSIGNED_JOB_SHAPE) });

/** The same elements, by identity, in the same order. */
function sameList(a: readonly unknown[], b: readonly unknown[] | undefined): boolean {
  if (a === b) return true;
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The same keys in the same order with the same values (by identity), and none the codec would lift out of meta. */
function sameMeta(a: JsonObject, b: JsonObject | undefined): boolean {
  if (b === undefined) return false;
  const ka = Object.keys(a);
  if (a !== b) {
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || a[ka[i]!] !== b[kb[i]!]) return false;
  }
  for (let i = 0; i < ka.length; i++) if (ka[i]!.startsWith("ojs.")) return false;
  return true;
}

/** Which fields of `job` hold exactly what `entry` (as the server decoded it) holds. */
export function sharedWithEntry(job: Job, entry: NormalizedJobRequest | undefined): number {
  if (!entry) return 0;
  let bits = 0;
  if (job.type === entry.type) bits |= FROM_REQUEST.type;
  if (entry.queue !== undefined && job.queue === entry.queue) bits |= FROM_REQUEST.queue;
  if (sameList(job.args, entry.args)) bits |= FROM_REQUEST.args;
  if (sameMeta(job.meta, entry.meta)) bits |= FROM_REQUEST.meta;
  if (sameList(job.tags, entry.tags)) bits |= FROM_REQUEST.tags;
  return bits;
}

// --- encode -----------------------------------------------------------------------

// The entries of the answer being encoded (encoders are synchronous).
let encodeEntries: readonly NormalizedJobRequest[] = [];

function writeAnswerBody(w: Writer, jobs: readonly Job[]): void {
  const entries = encodeEntries;
  for (let i = 0; i < jobs.length; i++) {
    const bits = sharedWithEntry(jobs[i]!, entries[i]);
    writeTag(w, 0x0a /* BATCH_ANSWER.jobs */);
    const at = w.open();
    writeTag(w, 0x0a /* ASSIGNED_JOB.job */);
    const jobAt = w.open();
    writeJobBody(w, jobs[i]!, bits);
    w.close(jobAt);
    if (bits !== 0) {
      writeTag(w, 0x10 /* ASSIGNED_JOB.fromRequest */);
      w.uint32(bits);
    }
    w.close(at);
  }
}

/** The answer to a batch: `jobs[i]` is the job of `entries[i]`, the request entry as the server decoded it. */
export function encodeEnqueueBatchAnswer(jobs: readonly Job[], entries: readonly NormalizedJobRequest[]): Uint8Array {
  encodeEntries = entries;
  try {
    return encodeWith(writeAnswerBody, jobs);
  } finally {
    encodeEntries = [];
  }
}

// --- decode -----------------------------------------------------------------------

/**
 * Sets the fields the server left out of `job` from its entry, as the server decoded it: the
 * entry's own objects, fresh from the decoder, so the Job holds nothing of the caller's.
 */
function fillFromEntry(job: Job, bits: number, entry: NormalizedJobRequest): void {
  if (bits & FROM_REQUEST.type) job.type = entry.type;
  if (bits & FROM_REQUEST.queue && entry.queue !== undefined) job.queue = entry.queue;
  if (bits & FROM_REQUEST.args) job.args = entry.args;
  if (bits & FROM_REQUEST.meta && entry.meta !== undefined) job.meta = entry.meta;
  if (bits & FROM_REQUEST.tags && entry.tags !== undefined) job.tags = entry.tags;
}

function readAssignedJob(r: Reader, end: number, entry: NormalizedJobRequest | undefined): Job {
  let job: Job | undefined;
  let bits = 0;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* ASSIGNED_JOB.job */) job = onceMessage(r, job, readJob);
    else if (t === 0x10 /* ASSIGNED_JOB.fromRequest */) bits = r.uint32();
    else r.skip(t);
  }
  expectEnd(r, end);
  job ??= readJob(new Reader(new Uint8Array(0)), 0);
  if (bits !== 0) {
    if (!entry) throw new WireFormatError("an assigned job beyond the request's entries takes fields from the request");
    fillFromEntry(job, bits, entry);
  }
  return job;
}

function readAnswer(r: Reader, end: number, entries: readonly NormalizedJobRequest[]): Job[] {
  const jobs: Job[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* BATCH_ANSWER.jobs */) jobs.push(readAssignedJob(r, fieldEnd(r), entries[jobs.length]));
    else r.skip(t);
  }
  expectEnd(r, end);
  return jobs;
}

/**
 * The Jobs of an answer, each in full. `request` is the EnqueueBatchRequest the answer is to, as
 * sent: it is decoded here as the server decoded it (the same bytes, the same decoder), so the
 * fields taken from it are exactly those the server compared, lone surrogates, -0 and all.
 */
export function decodeEnqueueBatchAnswer(bytes: Uint8Array, request: Uint8Array): Job[] {
  const entries = decode(request, ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest).jobs;
  return decode(bytes, ENQUEUE_BATCH_ANSWER_SHAPE, (r, end) => readAnswer(r, end, entries));
}
