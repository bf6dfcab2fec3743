/**
 * ojsconnect.v1.AssignedJob (proto/ojsconnect/v1/fastpath.proto): a Job as the
 * server has it, less the fields it shares with the request it was made from.
 * The fast path answers a batch with these (./batch-answer.ts) and, for a
 * client that asks (ENQUEUE_ANSWER_HEADER), every enqueue call of its
 * EnqueueStream (./fastpath.ts): the client sent type, queue, args, meta and
 * tags a moment before, and decoding them again from the answer was the largest
 * part of a sequential enqueue's client time.
 *
 * Server: a field is left out only when the job holds exactly what the request
 * decoded to (the same objects: anything the server made anew, tenant meta
 * say, travels in full). Client: it fills the fields in from its request as the
 * server decoded it, with sentEntry() below, which makes without the bytes what
 * that decode would make (a batch could also decode the bytes it sent).
 * Tags stamped from the descriptors (README.md).
 */
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import type { Writer } from "./buffer.js";
import { decodedString, decodedValue, setKey, writeTag } from "./json.js";
import { JOB_SHAPE, writeJobBody } from "./job.js";
import { OPTIONS_RESERVED_META } from "./enqueue.js";
import { one, shape, type Shape } from "./merge.js";

/** The bits of AssignedJob.from_request: which Job fields the client takes from its entry. */
export const FROM_REQUEST = { type: 1, queue: 2, args: 4, meta: 8, tags: 16 } as const;
/** Every FROM_REQUEST bit. */
export const FROM_REQUEST_ALL = 31;

/**
 * Sent on EnqueueStream by a client that reads its answers as AssignedJobs (value "assigned").
 * A server that does not know it answers every call with the whole Job, which the client reads as before.
 */
export const ENQUEUE_ANSWER_HEADER = "x-ojs-connect-enqueue-answer";

export const ASSIGNED_JOB_SHAPE: Shape = shape({ 1: one(() => JOB_SHAPE) });

/** The same elements, by identity, in the same order. */
function sameList(a: readonly unknown[], b: readonly unknown[] | undefined): boolean {
  if (a === b) return true;
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function reservedKeyIn(meta: JsonObject): boolean {
  for (const k in meta) if (k.startsWith("ojs.")) return true;
  return false;
}

/**
 * The same keys in the same order with the same values (by identity), and none the codec would lift
 * out of meta; or, for an entry without meta, none at all (what the reader makes of no meta: {}).
 */
function sameMeta(a: JsonObject, b: JsonObject | undefined): boolean {
  if (b === undefined) {
    for (const _ in a) return false;
    return true;
  }
  if (a !== b) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || a[ka[i]!] !== b[kb[i]!]) return false;
  }
  return !reservedKeyIn(a);
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

/** An AssignedJob field: `job` less the fields `bits` names, and the bits. */
export function writeAssignedJobField(w: Writer, tag: number, job: Job, bits: number): void {
  writeTag(w, tag);
  const at = w.open();
  writeTag(w, 0x0a /* ASSIGNED_JOB.job */);
  const jobAt = w.open();
  writeJobBody(w, job, bits);
  w.close(jobAt);
  if (bits !== 0) {
    writeTag(w, 0x10 /* ASSIGNED_JOB.fromRequest */);
    w.uint32(bits);
  }
  w.close(at);
}

/**
 * Sets the fields the server left out of `job` (as readJob made it: "", [], {} where a field was
 * absent) from its entry, as the server decoded it. The entry's own objects: fresh from a
 * decoder, or from sentEntry, so the Job holds nothing of the caller's.
 */
export function fillFromEntry(job: Job, bits: number, entry: NormalizedJobRequest): void {
  if (bits & FROM_REQUEST.type) job.type = entry.type;
  if (bits & FROM_REQUEST.queue && entry.queue !== undefined) job.queue = entry.queue;
  if (bits & FROM_REQUEST.args) job.args = entry.args;
  if (bits & FROM_REQUEST.meta && entry.meta !== undefined) job.meta = entry.meta;
  if (bits & FROM_REQUEST.tags && entry.tags !== undefined) job.tags = entry.tags;
}

/** meta as writeOptionsBody writes it (overrides are all lifted keys) and readOptionsInto reads it back. */
function sentMeta(meta: JsonObject | undefined): JsonObject | undefined {
  if (meta === undefined) return undefined;
  const out: JsonObject = {};
  let any = false;
  const keys = Object.keys(meta);
  for (let i = 0; i < keys.length; i++) {
    const k = decodedString(keys[i]!);
    if (k.startsWith("ojs.") && OPTIONS_RESERVED_META.includes(k)) continue;
    setKey(out, k, decodedValue(meta[keys[i]!]));
    any = true;
  }
  return any ? out : undefined;
}

/**
 * The fields an AssignedJob takes from its request (type, queue, args, meta, tags), as the
 * server's readEnqueueRequest makes them of the bytes writeEnqueueRequestBody writes of `req`
 * (with the reserved keys tunnelled, as the fast path sends): without the bytes, the same
 * values (lone surrogates replaced, non-JSON members null, "__proto__" an own key), in new
 * objects. Take it when the request is encoded: what the caller changes later is not in it.
 */
export function sentEntry(req: NormalizedJobRequest): NormalizedJobRequest {
  const args = req.args;
  const out: NormalizedJobRequest = { type: decodedString(req.type), args: [] };
  for (let i = 0; i < args.length; i++) out.args.push(decodedValue(args[i]));
  const queue = req.queue ? decodedString(req.queue) : "";
  if (queue) out.queue = queue;
  const meta = sentMeta(req.meta);
  if (meta !== undefined) out.meta = meta;
  const tags = req.tags;
  if (tags !== undefined && tags.length > 0) {
    out.tags = [];
    for (let i = 0; i < tags.length; i++) out.tags.push(decodedString(tags[i]!));
  }
  return out;
}
