/**
 * ojs.v1.Job, JobError, RetryPolicy and UniquePolicy between domain objects
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
 * (a tag is field << 3 | wire type; 130 and up take two bytes).
 */
import type { BackoffStrategy, Job, JobError, JobState, RetryPolicy, UniqueConflict, UniquePolicy } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { NEEDS_MERGE, Reader, WireFormatError, type Writer, expectEnd } from "./buffer.js";
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
  writeTag,
  writeTimestampField,
  writeValueField,
} from "./json.js";
import { LEAF, many, one, shape, type Shape } from "./merge.js";

// Same strings as RESERVED_META in ../proto.ts (not imported: that module pulls in every generated schema).
export const META_PARENT_RESULTS = "ojs.parent_results";
export const META_RETRY_DELAY_MS = "ojs.retry_delay_ms";
const RESULT_KEY = "$value";

// --- enums ----------------------------------------------------------------------

const STATE_NAMES: readonly (JobState | undefined)[] = [
  undefined,
  "scheduled",
  "available",
  "pending",
  "active",
  "completed",
  "retryable",
  "cancelled",
  "discarded",
];

/** ojs.v1.JobState number of a domain state; -1 for a string that is none. */
export function stateNumber(s: JobState): number {
  switch (s) {
    case "scheduled":
      return 1;
    case "available":
      return 2;
    case "pending":
      return 3;
    case "active":
      return 4;
    case "completed":
      return 5;
    case "retryable":
      return 6;
    case "cancelled":
      return 7;
    case "discarded":
      return 8;
    default:
      return -1;
  }
}

export function stateName(n: number): JobState | undefined {
  return n >= 1 && n <= 8 ? STATE_NAMES[n] : undefined;
}

export function requireStateNumber(s: JobState, what: string): number {
  const n = stateNumber(s);
  if (n < 0) throw new Error(`cannot encode ${what}: unknown job state ${String(s)}`);
  return n;
}

const CONFLICT_NAMES: readonly (UniqueConflict | undefined)[] = [undefined, "reject", "replace", "ignore", "replace_except_schedule"];

/** An unknown action goes out as UNSPECIFIED (no field), as uniqueToProto's lookup makes it. */
function conflictNumber(c: UniqueConflict | undefined): number {
  switch (c) {
    case "reject":
      return 1;
    case "replace":
      return 2;
    case "ignore":
      return 3;
    case "replace_except_schedule":
      return 4;
    default:
      return 0;
  }
}

export function isBackoffStrategy(v: unknown): v is BackoffStrategy {
  return v === "exponential" || v === "linear" || v === "constant" || v === "polynomial";
}

// --- shapes (for merge.ts) --------------------------------------------------------

export const RETRY_SHAPE: Shape = shape({ 2: one(() => LEAF), 4: one(() => LEAF) });
export const UNIQUE_SHAPE: Shape = shape({ 2: one(() => LEAF) });
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

/** retryToProto: unset jitter goes out as true (the spec default), since proto3 cannot say "unset". */
export function writeRetryBody(w: Writer, p: RetryPolicy): void {
  writeInt32Field(w, 0x08, p.maxAttempts ?? 0, "ojs.v1.RetryPolicy.max_attempts");
  if (p.initialInterval !== undefined) writeDurationField(w, 0x12, p.initialInterval);
  const coefficient = p.backoffCoefficient ?? 0;
  if (coefficient !== 0) {
    w.byte(0x19); // 3: backoff_coefficient, I64
    w.double(coefficient);
  }
  if (p.maxInterval !== undefined) writeDurationField(w, 0x22, p.maxInterval);
  if (p.jitter ?? true) w.byte2(0x28, 1);
  const nre = p.nonRetryableErrors;
  if (nre) {
    for (let i = 0; i < nre.length; i++) {
      w.byte(0x32);
      w.string(nre[i]!);
    }
  }
  writeStringField(w, 0x3a, p.onExhaustion ?? "");
}

export function writeUniqueBody(w: Writer, u: UniquePolicy): void {
  writeStrings(w, 0x0a, u.keys);
  if (u.period !== undefined) writeDurationField(w, 0x12, u.period);
  const c = conflictNumber(u.onConflict);
  if (c !== 0) w.byte2(0x18, c);
  const states = u.states;
  if (states && states.length > 0) {
    // 4: states, packed (proto3's default for repeated enums); every number fits one byte.
    w.byte(0x22);
    const at = w.open();
    for (let i = 0; i < states.length; i++) w.byte(requireStateNumber(states[i]!, "ojs.v1.UniquePolicy.states"));
    w.close(at);
  }
  writeStrings(w, 0x2a, u.argsKeys);
  writeStrings(w, 0x32, u.metaKeys);
}

function writeStrings(w: Writer, tag: number, list: readonly string[] | undefined): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    writeTag(w, tag);
    w.string(list[i]!);
  }
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

export function readRetry(r: Reader, end: number): RetryPolicy {
  let maxAttempts = 0;
  let initial: number | undefined;
  let coefficient = 0;
  let maxInterval: number | undefined;
  let jitter = false;
  let nre: string[] | undefined;
  let onExhaustion = "";
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x08:
        maxAttempts = r.uint32() | 0;
        break;
      case 0x12:
        if (initial !== undefined) throw NEEDS_MERGE;
        initial = readDurationMs(r, fieldEnd(r));
        break;
      case 0x19:
        coefficient = r.double();
        break;
      case 0x22:
        if (maxInterval !== undefined) throw NEEDS_MERGE;
        maxInterval = readDurationMs(r, fieldEnd(r));
        break;
      case 0x28:
        jitter = r.bool();
        break;
      case 0x32:
        (nre ??= []).push(r.string());
        break;
      case 0x3a:
        onExhaustion = r.string();
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const p: RetryPolicy = {};
  if (maxAttempts) p.maxAttempts = maxAttempts;
  if (initial !== undefined) p.initialInterval = initial;
  if (coefficient) p.backoffCoefficient = coefficient;
  if (maxInterval !== undefined) p.maxInterval = maxInterval;
  p.jitter = jitter;
  if (nre) p.nonRetryableErrors = nre;
  if (onExhaustion === "discard" || onExhaustion === "dead_letter") p.onExhaustion = onExhaustion;
  return p;
}

export function readUnique(r: Reader, end: number): UniquePolicy {
  let keys: string[] | undefined;
  let period: number | undefined;
  let conflict = 0;
  let states: JobState[] | undefined;
  let argsKeys: string[] | undefined;
  let metaKeys: string[] | undefined;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        (keys ??= []).push(r.string());
        break;
      case 0x12:
        if (period !== undefined) throw NEEDS_MERGE;
        period = readDurationMs(r, fieldEnd(r));
        break;
      case 0x18:
        conflict = r.uint32() | 0;
        break;
      case 0x20: {
        // Unpacked (proto2 style): one varint per element. Unknown numbers are dropped, as uniqueFromProto does.
        const s = stateName(r.uint32() | 0);
        if (s) (states ??= []).push(s);
        break;
      }
      case 0x22: {
        const e = fieldEnd(r);
        while (r.pos < e) {
          const s = stateName(r.uint32() | 0);
          if (s) (states ??= []).push(s);
        }
        if (r.pos !== e) throw new WireFormatError("a packed field runs past its length");
        break;
      }
      case 0x2a:
        (argsKeys ??= []).push(r.string());
        break;
      case 0x32:
        (metaKeys ??= []).push(r.string());
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const u: UniquePolicy = {};
  if (keys) u.keys = keys;
  if (argsKeys) u.argsKeys = argsKeys;
  if (metaKeys) u.metaKeys = metaKeys;
  if (period !== undefined) u.period = period;
  const c = conflict >= 1 && conflict <= 4 ? CONFLICT_NAMES[conflict] : undefined;
  if (c) u.onConflict = c;
  if (states) u.states = states;
  return u;
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
