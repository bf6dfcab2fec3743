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
import { fieldEnd, setKey, writeTag } from "./json.js";
import { ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest } from "./batch.js";
import { onceMessage } from "./fields.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { many, one, shape, type Shape } from "./merge.js";
import { decode, encodeWith } from "./two-pass.js";

/** The bits of AssignedJob.from_request: which Job fields the client takes from its entry. */
export const FROM_REQUEST = { type: 1, queue: 2, args: 4, meta: 8, tags: 16 } as const;
/** AssignedJob.from_request: every field but the id and the five above is the previous job's. */
export const FROM_PREVIOUS = 32;
/** Sent by a client that reads FROM_PREVIOUS, with the value "previous". */
export const BATCH_ANSWER_HEADER = "x-ojs-connect-batch-answer";

/** The fields FROM_PREVIOUS does not cover: the id, and those that come from the entry or in full. */
const OWN_FIELDS: ReadonlySet<string> = new Set(["id", "type", "queue", "args", "meta", "tags"]);

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

function reservedKeyIn(meta: JsonObject): boolean {
  for (const k in meta) if (k.startsWith("ojs.")) return true;
  return false;
}

/**
 * Whether every field of `job` but its OWN_FIELDS encodes as `prev`'s does: the same keys, each
 * value the same (a Date the same instant, an array empty in both). Anything else, an object that
 * is equal but not the same say, counts as different: the job then goes in full.
 */
export function sameAsPrevious(job: Job, prev: Job | undefined): boolean {
  // Carried inside meta, as reserved keys a meta may also hold itself, which the reader lifts out
  // of either job's meta into the fields it would copy: such jobs go in full.
  if (prev === undefined || job.parentResults !== undefined || job.retryDelayMs !== undefined) return false;
  if (reservedKeyIn(job.meta) || reservedKeyIn(prev.meta)) return false;
  const a = job as unknown as Record<string, unknown>;
  const b = prev as unknown as Record<string, unknown>;
  let count = 0;
  for (const k in a) {
    count++;
    if (!(k in b)) return false;
    if (OWN_FIELDS.has(k)) continue;
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (x instanceof Date && y instanceof Date && x.getTime() === y.getTime()) continue;
    if (Array.isArray(x) && Array.isArray(y) && x.length === 0 && y.length === 0) continue;
    return false;
  }
  for (const _ in b) count--;
  return count === 0;
}

// --- encode -----------------------------------------------------------------------

// The entries of the answer being encoded, and whether FROM_PREVIOUS may be used (encoders are synchronous).
let encodeEntries: readonly NormalizedJobRequest[] = [];
let encodeFromPrevious = false;

function writeAnswerBody(w: Writer, jobs: readonly Job[]): void {
  const entries = encodeEntries;
  for (let i = 0; i < jobs.length; i++) {
    let bits = sharedWithEntry(jobs[i]!, entries[i]);
    if (encodeFromPrevious && sameAsPrevious(jobs[i]!, jobs[i - 1])) bits |= FROM_PREVIOUS;
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

/** A copy of a decoded value: Dates, arrays and objects anew, so that no two Jobs share one. */
function copyDecoded(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (v instanceof Date) return new Date(v.getTime());
  if (Array.isArray(v)) return v.map(copyDecoded);
  const out: JsonObject = {};
  // Bounded: the value was decoded, within the decoder's depth limit.
  for (const k of Object.keys(v)) setKey(out, k, copyDecoded((v as Record<string, unknown>)[k]) as JsonValue);
  return out;
}

/** `prev` with the id and the OWN_FIELDS of `own` (the job as sent: its id, and what the entry fills in). */
function withPreviousRest(own: Job, prev: Job): Job {
  const job = { ...prev } as unknown as Record<string, unknown>;
  for (const k in job) {
    const v = job[k];
    if (typeof v === "object" && v !== null && !OWN_FIELDS.has(k)) job[k] = copyDecoded(v);
  }
  const out = job as unknown as Job;
  out.id = own.id;
  out.type = own.type;
  out.queue = own.queue;
  out.args = own.args;
  out.meta = own.meta;
  out.tags = own.tags;
  return out;
}

function readAssignedJob(r: Reader, end: number, entry: NormalizedJobRequest | undefined, prev: Job | undefined): Job {
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
    if (bits & FROM_PREVIOUS) {
      if (!prev) throw new WireFormatError("the first assigned job of an answer takes fields from the job before it");
      job = withPreviousRest(job, prev);
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
 * The Jobs of an answer, each in full. `request` is the EnqueueBatchRequest the answer is to, as
 * sent: it is decoded here as the server decoded it (the same bytes, the same decoder), so the
 * fields taken from it are exactly those the server compared, lone surrogates, -0 and all.
 */
export function decodeEnqueueBatchAnswer(bytes: Uint8Array, request: Uint8Array): Job[] {
  const entries = decode(request, ENQUEUE_BATCH_REQUEST_SHAPE, readEnqueueBatchRequest).jobs;
  return decode(bytes, ENQUEUE_BATCH_ANSWER_SHAPE, (r, end) => readAnswer(r, end, entries));
}
