/**
 * ojs.v1.Job and JobError between domain objects
 * and wire bytes, meaning exactly what jobToProto/jobFromProto (../proto.ts)
 * mean: the same reserved meta keys, the same {"$value": x} wrapping of
 * results, proto3 zero values read as "absent", the same enum mapping.
 *
 * Field numbers (proto/ojs/v1/job.proto), with the tag bytes used below:
 * Job: 1 id 0x0a, 2 type 0x12, 3 queue 0x1a, 4 args 0x22, 5 meta 0x2a,
 *   6 state 0x30, 7 priority 0x38, 8 attempt 0x40, 9 max_attempts 0x48,
 *   10 retry_policy 0x52, 11 unique_policy 0x5a, 12 result 0x62, 13 errors 0x6a,
 *   14 created_at 0x72, 15 enqueued_at 0x7a, 16 scheduled_at 130, 17 started_at 138,
 *   18 completed_at 146, 19 expires_at 154, 20 timeout 162, 21 visibility_timeout 170,
 *   22 tags 178, 23 trace_id (ignored), 24 workflow_id 194, 25 specversion 202
 * (a tag is field << 3 | wire type; 130 and up take two bytes). RetryPolicy and
 * UniquePolicy are in policies.ts, the enums in enums.ts.
 */
import type { Job, JobError, RetryPolicy, UniquePolicy } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { NEEDS_MERGE, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import {
  fieldEnd,
  lastEntryKey,
  lastEntryValue,
  readDurationMs,
  readEntry,
  readStructBody,
  readTimestampMs,
  readValue,
  setKey,
  writeDurationField,
  writeInt32Field,
  writeStringField,
  writeStructBody,
  writeStructEntry,
  writeTimestampField,
  writeValueField,
} from "./json.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";
import { stateName, stateNumber } from "./enums.js";
import { readRetry, readUnique, RETRY_SHAPE, UNIQUE_SHAPE, writeRetryBody, writeStrings, writeUniqueBody } from "./policies.js";

// Same strings as RESERVED_META in ../proto.ts (not imported: that module pulls in every generated schema).
export const META_PARENT_RESULTS = "ojs.parent_results";
export const META_RETRY_DELAY_MS = "ojs.retry_delay_ms";
const RESULT_KEY = "$value";

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
  writeStringField(w, 0x0a, e.code);
  writeStringField(w, 0x12, e.message);
  if (e.retryable) w.byte2(0x18, 1);
  writeInt32Field(w, 0x20, e.attempt ?? 0, "ojs.v1.JobError.attempt");
  if (e.occurredAt) writeTimestampField(w, 0x2a, e.occurredAt);
  writeStringField(w, 0x32, e.backtrace ?? "");
  if (e.details) {
    w.byte(0x3a);
    const at = w.open();
    writeStructBody(w, e.details);
    w.close(at);
  }
}

export function writeJobBody(w: Writer, j: Job): void {
  writeStringField(w, 0x0a, j.id);
  writeStringField(w, 0x12, j.type);
  writeStringField(w, 0x1a, j.queue);
  const args = j.args;
  for (let i = 0; i < args.length; i++) writeValueField(w, 0x22, args[i]);
  // 5: meta (present whenever the job has one, i.e. always), with the fields the proto lacks under reserved keys.
  let at = 0;
  if (j.meta !== undefined || j.parentResults !== undefined || j.retryDelayMs !== undefined) {
    w.byte(0x2a);
    at = w.open();
    setOverride(0, META_PARENT_RESULTS, j.parentResults);
    setOverride(1, META_RETRY_DELAY_MS, j.retryDelayMs);
    writeStructOverriding(w, j.meta, 2);
    w.close(at);
  }
  // An unknown state goes out as UNSPECIFIED (no field), as jobToProto's lookup makes it.
  const state = stateNumber(j.state);
  if (state > 0) w.byte2(0x30, state);
  writeInt32Field(w, 0x38, j.priority, "ojs.v1.Job.priority");
  writeInt32Field(w, 0x40, j.attempt, "ojs.v1.Job.attempt");
  writeInt32Field(w, 0x48, j.maxAttempts ?? 0, "ojs.v1.Job.max_attempts");
  if (j.retry) {
    w.byte(0x52);
    at = w.open();
    writeRetryBody(w, j.retry);
    w.close(at);
  }
  if (j.unique) {
    w.byte(0x5a);
    at = w.open();
    writeUniqueBody(w, j.unique);
    w.close(at);
  }
  if (j.result !== undefined) {
    w.byte(0x62);
    at = w.open();
    writeResultBody(w, j.result);
    w.close(at);
  }
  const errors = j.errors;
  for (let i = 0; i < errors.length; i++) {
    w.byte(0x6a);
    at = w.open();
    writeJobErrorBody(w, errors[i]!);
    w.close(at);
  }
  if (j.createdAt) writeTimestampField(w, 0x72, j.createdAt);
  if (j.enqueuedAt) writeTimestampField(w, 0x7a, j.enqueuedAt);
  if (j.scheduledAt) writeTimestampField(w, 130, j.scheduledAt);
  if (j.startedAt) writeTimestampField(w, 138, j.startedAt);
  // One "finished" timestamp in the proto: a cancelled job's cancelledAt rides in it.
  const finished = j.completedAt ?? (j.state === "cancelled" ? j.cancelledAt : undefined);
  if (finished) writeTimestampField(w, 146, finished);
  if (j.expiresAt) writeTimestampField(w, 154, j.expiresAt);
  if (j.timeout !== undefined) writeDurationField(w, 162, j.timeout);
  if (j.visibilityTimeout !== undefined) writeDurationField(w, 170, j.visibilityTimeout);
  writeStrings(w, 178, j.tags);
  writeStringField(w, 194, j.workflowId ?? "");
  writeStringField(w, 202, j.specversion);
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
      case 0x0a:
        code = r.string();
        break;
      case 0x12:
        message = r.string();
        break;
      case 0x18:
        retryable = r.bool();
        break;
      case 0x20:
        attempt = r.uint32() | 0;
        break;
      case 0x2a:
        if (occurredAt !== undefined) throw NEEDS_MERGE;
        occurredAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 0x32:
        backtrace = r.string();
        break;
      case 0x3a: {
        const e = fieldEnd(r);
        details = readStructBody(r, e, details ?? {});
        break;
      }
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
  let parentResults: JsonValue | undefined;
  let retryDelayMs: JsonValue | undefined;
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
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        id = r.string();
        break;
      case 0x12:
        type = r.string();
        break;
      case 0x1a:
        queue = r.string();
        break;
      case 0x22: {
        const e = fieldEnd(r);
        args.push(readValue(r, e, null));
        break;
      }
      case 0x2a: {
        // meta: the reserved keys are lifted out as they come (a later entry wins, as in a map).
        const e = fieldEnd(r);
        meta ??= {};
        while (r.pos < e) {
          const t2 = r.tag();
          if (t2 !== 0x0a) {
            r.skip(t2);
            continue;
          }
          readEntry(r, fieldEnd(r));
          const k = lastEntryKey();
          if (k === META_PARENT_RESULTS) parentResults = lastEntryValue();
          else if (k === META_RETRY_DELAY_MS) retryDelayMs = lastEntryValue();
          else setKey(meta, k, lastEntryValue());
        }
        expectEnd(r, e);
        break;
      }
      case 0x30:
        state = r.uint32() | 0;
        break;
      case 0x38:
        priority = r.uint32() | 0;
        break;
      case 0x40:
        attempt = r.uint32() | 0;
        break;
      case 0x48:
        maxAttempts = r.uint32() | 0;
        break;
      case 0x52:
        if (retry !== undefined) throw NEEDS_MERGE;
        retry = readRetry(r, fieldEnd(r));
        break;
      case 0x5a:
        if (unique !== undefined) throw NEEDS_MERGE;
        unique = readUnique(r, fieldEnd(r));
        break;
      case 0x62: {
        const e = fieldEnd(r);
        result = readStructBody(r, e, result ?? {});
        break;
      }
      case 0x6a:
        errors.push(readJobError(r, fieldEnd(r)));
        break;
      case 0x72:
        if (createdAt !== undefined) throw NEEDS_MERGE;
        createdAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 0x7a:
        if (enqueuedAt !== undefined) throw NEEDS_MERGE;
        enqueuedAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 130:
        if (scheduledAt !== undefined) throw NEEDS_MERGE;
        scheduledAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 138:
        if (startedAt !== undefined) throw NEEDS_MERGE;
        startedAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 146:
        if (completedAt !== undefined) throw NEEDS_MERGE;
        completedAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 154:
        if (expiresAt !== undefined) throw NEEDS_MERGE;
        expiresAt = readTimestampMs(r, fieldEnd(r));
        break;
      case 162:
        if (timeout !== undefined) throw NEEDS_MERGE;
        timeout = readDurationMs(r, fieldEnd(r));
        break;
      case 170:
        if (visibilityTimeout !== undefined) throw NEEDS_MERGE;
        visibilityTimeout = readDurationMs(r, fieldEnd(r));
        break;
      case 178:
        tags.push(r.string());
        break;
      case 194:
        workflowId = r.string();
        break;
      case 202:
        specversion = r.string();
        break;
      default:
        r.skip(t);
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
  if (isJsonObject(parentResults)) j.parentResults = parentResults;
  if (typeof retryDelayMs === "number") j.retryDelayMs = retryDelayMs;
  return j;
}
