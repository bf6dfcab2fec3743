/**
 * ojs.v1.Job and JobError between domain objects
 * and wire bytes, meaning exactly what jobToProto/jobFromProto (../proto.ts)
 * mean: the same reserved meta keys, the same {"$value": x} wrapping of
 * results, proto3 zero values read as "absent", the same enum mapping.
 *
 * Tags are literals stamped from the descriptors (JOB.<field> in tags.generated.ts; README.md); RetryPolicy
 * and UniquePolicy are in policies.ts, the enums in enums.ts.
 */
import type { Job, JobError, RetryPolicy, UniquePolicy } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import {
  fieldEnd,
  lastEntryKey,
  lastEntryValue,
  readEntry,
  readStructBody,
  readValue,
  setKey,
  writeDurationField,
  writeInt32Field,
  writeStringField,
  writeStructBody,
  writeStructEntry,
  writeStructField,
  writeTag,
  writeTimestampField,
  writeValueField,
} from "./json.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
import { stateName, stateNumber } from "./enums.js";
import { onceDuration, onceMessage, onceTimestamp, writeEnumField, writeMessageField, writeMessageFields } from "./fields.js";
import { readRetry, readUnique, RETRY_SHAPE, UNIQUE_SHAPE, writeRetryBody, writeStrings, writeUniqueBody } from "./policies.js";
import { GENERIC_JOB_FIELDS, HAS_GENERIC_JOB_FIELDS } from "./job-generic.js";

// Same strings as RESERVED_META in ../proto.ts.
export const META_PARENT_RESULTS = "ojs.parent_results";
export const META_RETRY_DELAY_MS = "ojs.retry_delay_ms";
const RESULT_KEY = "$value";
const JOB_RESERVED_META: readonly string[] = [META_PARENT_RESULTS, META_RETRY_DELAY_MS];

// --- shapes (for merge.ts) --------------------------------------------------------

export const JOB_ERROR_SHAPE: Shape = shape({ 5: one(() => LEAF), 7: one(() => LEAF) });
export const JOB_SHAPE: Shape = shape({
  5: one(() => LEAF),
  10: one(() => RETRY_SHAPE),
  11: one(() => UNIQUE_SHAPE),
  12: one(() => LEAF),
  13: many(() => JOB_ERROR_SHAPE),
  14: one(() => LEAF),
  15: one(() => LEAF),
  16: one(() => LEAF),
  17: one(() => LEAF),
  18: one(() => LEAF),
  19: one(() => LEAF),
  20: one(() => LEAF),
  21: one(() => LEAF),
});

// --- encode -----------------------------------------------------------------------

// Overrides for writeStructOverriding: reused, cleared after use so they pin nothing.
const ovKeys: string[] = [];
const ovVals: unknown[] = [];

/**
 * A Struct body of `o` as `{...o, [ovKeys[0]]: ovVals[0], ...}` would be (an
 * override of an existing key keeps its place; new keys follow, in order),
 * skipping overrides that are undefined. Clears the overrides.
 */
export function writeStructOverriding(w: Writer, o: JsonObject | undefined, n: number): void {
  let pending = 0;
  for (let i = 0; i < n; i++) if (ovVals[i] !== undefined) pending |= 1 << i;
  try {
    if (o !== undefined) {
      if (pending === 0) {
        writeStructBody(w, o);
        return;
      }
      const keys = Object.keys(o);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        let v: unknown = o[k];
        for (let x = 0; x < n; x++) {
          if (pending & (1 << x) && ovKeys[x] === k) {
            v = ovVals[x];
            pending &= ~(1 << x);
            break;
          }
        }
        writeStructEntry(w, k, v);
      }
    }
    for (let x = 0; x < n; x++) if (pending & (1 << x)) writeStructEntry(w, ovKeys[x]!, ovVals[x]);
  } finally {
    for (let x = 0; x < n; x++) ovVals[x] = undefined;
  }
}

export function setOverride(i: number, key: string, v: unknown): void {
  ovKeys[i] = key;
  ovVals[i] = v;
}

/** resultToStruct: a plain object travels as itself unless it looks like the wrapper; anything else is wrapped. */
export function writeResultBody(w: Writer, result: JsonValue): void {
  if (isJsonObject(result)) {
    const keys = Object.keys(result);
    if (!(keys.length === 1 && keys[0] === RESULT_KEY)) {
      for (let i = 0; i < keys.length; i++) writeStructEntry(w, keys[i]!, result[keys[i]!]);
      return;
    }
  }
  writeStructEntry(w, RESULT_KEY, result);
}

/** jobErrorToProto: retryable, attempt and backtrace default to their zero values. */
export function writeJobErrorBody(w: Writer, e: JobError): void {
  writeStringField(w, 0x0a /* JOB_ERROR.code */, e.code);
  writeStringField(w, 0x12 /* JOB_ERROR.message */, e.message);
  if (e.retryable) writeBoolTrue(w, 0x18 /* JOB_ERROR.retryable */);
  writeInt32Field(w, 0x20 /* JOB_ERROR.attempt */, e.attempt ?? 0, "ojs.v1.JobError.attempt");
  if (e.occurredAt) writeTimestampField(w, 0x2a /* JOB_ERROR.occurredAt */, e.occurredAt);
  writeStringField(w, 0x32 /* JOB_ERROR.backtrace */, e.backtrace ?? "");
  if (e.details) writeStructField(w, 0x3a /* JOB_ERROR.details */, e.details);
}

/**
 * The id, then type, queue, args and meta unless `omit` (FROM_REQUEST bits of ./assigned.ts:
 * 1 type, 2 queue, 4 args, 8 meta, 16 tags) names them: the part of a Job every answer writes.
 */
function writeJobHead(w: Writer, j: Job, omit: number): void {
  writeStringField(w, 0x0a /* JOB.id */, j.id);
  if (!(omit & 1)) writeStringField(w, 0x12 /* JOB.type */, j.type);
  if (!(omit & 2)) writeStringField(w, 0x1a /* JOB.queue */, j.queue);
  const args = j.args;
  if (!(omit & 4)) for (let i = 0; i < args.length; i++) writeValueField(w, 0x22 /* JOB.args */, args[i]);
  // meta (present whenever the job has one, i.e. always), with the fields the proto lacks under reserved keys.
  const meta = omit & 8 ? undefined : j.meta;
  if (meta !== undefined || j.parentResults !== undefined || j.retryDelayMs !== undefined) {
    writeTag(w, 0x2a /* JOB.meta */);
    const at = w.open();
    setOverride(0, META_PARENT_RESULTS, j.parentResults);
    setOverride(1, META_RETRY_DELAY_MS, j.retryDelayMs);
    writeStructOverriding(w, meta, 2);
    w.close(at);
  }
}

/**
 * A job whose other fields the reader takes from the job before it (FROM_PREVIOUS of
 * ./batch-answer.ts): the head and the tags. Its own function, not a branch of writeJobBody: single
 * enqueues never take that branch, so writeJobBody's optimized code deopted at a process's first batch.
 */
export function writeJobFromPrevious(w: Writer, j: Job, omit: number): void {
  writeJobHead(w, j, omit);
  if (!(omit & 16)) writeStrings(w, 0xb2 /* JOB.tags */, j.tags);
}

/** `omit`: the FROM_REQUEST fields to leave out (writeJobHead), for a reader that fills them in from its own request. */
export function writeJobBody(w: Writer, j: Job, omit = 0): void {
  writeJobHead(w, j, omit);
  // An unknown state goes out as UNSPECIFIED (no field), as jobToProto's lookup makes it.
  writeEnumField(w, 0x30 /* JOB.state */, stateNumber(j.state));
  writeInt32Field(w, 0x38 /* JOB.priority */, j.priority, "ojs.v1.Job.priority");
  writeInt32Field(w, 0x40 /* JOB.attempt */, j.attempt, "ojs.v1.Job.attempt");
  writeInt32Field(w, 0x48 /* JOB.maxAttempts */, j.maxAttempts ?? 0, "ojs.v1.Job.max_attempts");
  if (j.retry) writeMessageField(w, 0x52 /* JOB.retryPolicy */, writeRetryBody, j.retry);
  if (j.unique) writeMessageField(w, 0x5a /* JOB.uniquePolicy */, writeUniqueBody, j.unique);
  if (j.result !== undefined) writeMessageField(w, 0x62 /* JOB.result */, writeResultBody, j.result);
  writeMessageFields(w, 0x6a /* JOB.errors */, writeJobErrorBody, j.errors);
  if (j.createdAt) writeTimestampField(w, 0x72 /* JOB.createdAt */, j.createdAt);
  if (j.enqueuedAt) writeTimestampField(w, 0x7a /* JOB.enqueuedAt */, j.enqueuedAt);
  if (j.scheduledAt) writeTimestampField(w, 0x82 /* JOB.scheduledAt */, j.scheduledAt);
  if (j.startedAt) writeTimestampField(w, 0x8a /* JOB.startedAt */, j.startedAt);
  // One "finished" timestamp in the proto: a cancelled job's cancelledAt rides in it.
  const finished = j.completedAt ?? (j.state === "cancelled" ? j.cancelledAt : undefined);
  if (finished) writeTimestampField(w, 0x92 /* JOB.completedAt */, finished);
  if (j.expiresAt) writeTimestampField(w, 0x9a /* JOB.expiresAt */, j.expiresAt);
  if (j.timeout !== undefined) writeDurationField(w, 0xa2 /* JOB.timeout */, j.timeout);
  if (j.visibilityTimeout !== undefined) writeDurationField(w, 0xaa /* JOB.visibilityTimeout */, j.visibilityTimeout);
  if (!(omit & 16)) writeStrings(w, 0xb2 /* JOB.tags */, j.tags);
  writeStringField(w, 0xc2 /* JOB.workflowId */, j.workflowId ?? "");
  writeStringField(w, 0xca /* JOB.specversion */, j.specversion);
  if (HAS_GENERIC_JOB_FIELDS) GENERIC_JOB_FIELDS.write(w, j);
}

/** A bool field set to true (proto3 leaves false out). */
export function writeBoolTrue(w: Writer, tag: number): void {
  writeTag(w, tag);
  w.byte(1);
}

/**
 * A Struct field whose reserved keys are lifted out as they come (a later entry
 * wins, as in a map): the value of `reserved[i]` lands in `lifted[i]`, the other
 * entries in `meta`.
 */
export function readMetaLifting(r: Reader, meta: JsonObject, reserved: readonly string[], lifted: (JsonValue | undefined)[]): void {
  const e = fieldEnd(r);
  outer: while (r.pos < e) {
    const t = r.tag();
    if (t !== 0x0a /* MAP_ENTRY.key */) {
      r.skip(t);
      continue;
    }
    readEntry(r, fieldEnd(r));
    const k = lastEntryKey();
    if (k.startsWith("ojs.")) {
      for (let i = 0; i < reserved.length; i++) {
        if (k === reserved[i]) {
          lifted[i] = lastEntryValue();
          continue outer;
        }
      }
    }
    setKey(meta, k, lastEntryValue());
  }
  expectEnd(r, e);
}

// --- decode -----------------------------------------------------------------------

/** resultFromStruct. */
export function resultFromStruct(s: JsonObject): JsonValue {
  let only: string | undefined;
  let count = 0;
  for (const k in s) {
    if (++count > 1) return s;
    only = k;
  }
  return count === 1 && only === RESULT_KEY ? s[RESULT_KEY]! : s;
}

export function hasKeys(o: JsonObject): boolean {
  for (const _ in o) return true;
  return false;
}

export function readJobError(r: Reader, end: number): JobError {
  let code = "";
  let message = "";
  let retryable = false;
  let attempt = 0;
  let occurredAt: number | undefined;
  let backtrace = "";
  let details: JsonObject | undefined;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a /* JOB_ERROR.code */:
        code = r.string();
        break;
      case 0x12 /* JOB_ERROR.message */:
        message = r.string();
        break;
      case 0x18 /* JOB_ERROR.retryable */:
        retryable = r.bool();
        break;
      case 0x20 /* JOB_ERROR.attempt */:
        attempt = r.uint32() | 0;
        break;
      case 0x2a /* JOB_ERROR.occurredAt */:
        occurredAt = onceTimestamp(r, occurredAt);
        break;
      case 0x32 /* JOB_ERROR.backtrace */:
        backtrace = r.string();
        break;
      case 0x3a /* JOB_ERROR.details */:
        details = readStructBody(r, fieldEnd(r), details ?? {});
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const e: JobError = { code, message, retryable };
  if (attempt) e.attempt = attempt;
  if (occurredAt !== undefined) e.occurredAt = new Date(occurredAt);
  if (backtrace) e.backtrace = backtrace;
  if (details && hasKeys(details)) e.details = details;
  return e;
}

export function readJob(r: Reader, end: number): Job {
  let id = "";
  let type = "";
  let queue = "";
  const args: JsonValue[] = [];
  let meta: JsonObject | undefined;
  // parentResults, retryDelayMs (JOB_RESERVED_META's order).
  const lifted: (JsonValue | undefined)[] = [undefined, undefined];
  let state = 0;
  let priority = 0;
  let attempt = 0;
  let maxAttempts = 0;
  let retry: RetryPolicy | undefined;
  let unique: UniquePolicy | undefined;
  let result: JsonObject | undefined;
  const errors: JobError[] = [];
  let createdAt: number | undefined;
  let enqueuedAt: number | undefined;
  let scheduledAt: number | undefined;
  let startedAt: number | undefined;
  let completedAt: number | undefined;
  let expiresAt: number | undefined;
  let timeout: number | undefined;
  let visibilityTimeout: number | undefined;
  const tags: string[] = [];
  let workflowId = "";
  let specversion = "";
  let generic: number[] | undefined;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a /* JOB.id */:
        id = r.string();
        break;
      case 0x12 /* JOB.type */:
        type = r.string();
        break;
      case 0x1a /* JOB.queue */:
        queue = r.string();
        break;
      case 0x22 /* JOB.args */:
        args.push(readValue(r, fieldEnd(r), null));
        break;
      case 0x2a /* JOB.meta */:
        readMetaLifting(r, (meta ??= {}), JOB_RESERVED_META, lifted);
        break;
      case 0x30 /* JOB.state */:
        state = r.uint32() | 0;
        break;
      case 0x38 /* JOB.priority */:
        priority = r.uint32() | 0;
        break;
      case 0x40 /* JOB.attempt */:
        attempt = r.uint32() | 0;
        break;
      case 0x48 /* JOB.maxAttempts */:
        maxAttempts = r.uint32() | 0;
        break;
      case 0x52 /* JOB.retryPolicy */:
        retry = onceMessage(r, retry, readRetry);
        break;
      case 0x5a /* JOB.uniquePolicy */:
        unique = onceMessage(r, unique, readUnique);
        break;
      case 0x62 /* JOB.result */:
        result = readStructBody(r, fieldEnd(r), result ?? {});
        break;
      case 0x6a /* JOB.errors */:
        errors.push(readJobError(r, fieldEnd(r)));
        break;
      case 0x72 /* JOB.createdAt */:
        createdAt = onceTimestamp(r, createdAt);
        break;
      case 0x7a /* JOB.enqueuedAt */:
        enqueuedAt = onceTimestamp(r, enqueuedAt);
        break;
      case 0x82 /* JOB.scheduledAt */:
        scheduledAt = onceTimestamp(r, scheduledAt);
        break;
      case 0x8a /* JOB.startedAt */:
        startedAt = onceTimestamp(r, startedAt);
        break;
      case 0x92 /* JOB.completedAt */:
        completedAt = onceTimestamp(r, completedAt);
        break;
      case 0x9a /* JOB.expiresAt */:
        expiresAt = onceTimestamp(r, expiresAt);
        break;
      case 0xa2 /* JOB.timeout */:
        timeout = onceDuration(r, timeout);
        break;
      case 0xaa /* JOB.visibilityTimeout */:
        visibilityTimeout = onceDuration(r, visibilityTimeout);
        break;
      case 0xb2 /* JOB.tags */:
        tags.push(r.string());
        break;
      case 0xc2 /* JOB.workflowId */:
        workflowId = r.string();
        break;
      case 0xca /* JOB.specversion */:
        specversion = r.string();
        break;
      case 0xba /* JOB.traceId */: // not in the model: jobFromProto ignores it too
        r.skip(t);
        break;
      default:
        if (HAS_GENERIC_JOB_FIELDS && GENERIC_JOB_FIELDS.has(t)) generic = GENERIC_JOB_FIELDS.keep(r, t, generic);
        else r.skip(t);
    }
  }
  expectEnd(r, end);
  const st = stateName(state) ?? "available";
  const j: Job = {
    id,
    type,
    queue,
    args,
    meta: meta ?? {},
    state: st,
    priority,
    attempt,
    errors,
    tags,
    specversion: specversion || "1.0",
  };
  if (maxAttempts) j.maxAttempts = maxAttempts;
  if (retry) j.retry = retry;
  if (unique) j.unique = unique;
  if (result) j.result = resultFromStruct(result);
  if (createdAt !== undefined) j.createdAt = new Date(createdAt);
  if (enqueuedAt !== undefined) j.enqueuedAt = new Date(enqueuedAt);
  if (scheduledAt !== undefined) j.scheduledAt = new Date(scheduledAt);
  if (startedAt !== undefined) j.startedAt = new Date(startedAt);
  if (completedAt !== undefined) {
    if (st === "cancelled") j.cancelledAt = new Date(completedAt);
    else j.completedAt = new Date(completedAt);
  }
  if (expiresAt !== undefined) j.expiresAt = new Date(expiresAt);
  if (timeout !== undefined) j.timeout = timeout;
  if (visibilityTimeout !== undefined) j.visibilityTimeout = visibilityTimeout;
  if (workflowId) j.workflowId = workflowId;
  const parentResults = lifted[0];
  const retryDelayMs = lifted[1];
  if (isJsonObject(parentResults)) j.parentResults = parentResults;
  if (typeof retryDelayMs === "number") j.retryDelayMs = retryDelayMs;
  if (generic !== undefined) GENERIC_JOB_FIELDS.apply(j, generic);
  return j;
}
