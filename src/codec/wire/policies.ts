/**
 * ojs.v1.RetryPolicy and ojs.v1.UniquePolicy between domain objects and wire
 * bytes, as retryToProto/uniqueToProto and their inverses (../proto.ts) mean them.
 *
 * Tags are literals stamped from the descriptors (RETRY, UNIQUE in tags.generated.ts; README.md).
 */
import type { JobState, RetryPolicy, UniquePolicy } from "../../model/job.js";
import type { Writer } from "./buffer.js";
import type { Reader } from "./reader.js";
import { CONFLICT_NAMES, conflictNumber, requireStateNumber, stateName } from "./enums.js";
import { writeDurationField, writeInt32Field, writeStringField, writeTag } from "./json.js";
import { LEAF, one, shape, type Shape } from "./merge.js";
import { writeEnumField } from "./fields.js";
import { fieldTable, readFields } from "./field-table.js";
import { RetryPolicySchema, UniquePolicySchema } from "../../../gen/ojs/v1/job_pb.js";

/** Where RetryPolicy has message fields (for merge.ts). */
export const RETRY_SHAPE: Shape = shape({ 2: one(() => LEAF), 4: one(() => LEAF) });
/** Where UniquePolicy has message fields (for merge.ts). */
export const UNIQUE_SHAPE: Shape = shape({ 2: one(() => LEAF) });

/** retryToProto: unset jitter goes out as true (the spec default), since proto3 cannot say "unset". */
export function writeRetryBody(w: Writer, p: RetryPolicy): void {
  writeInt32Field(w, 0x08 /* RETRY.maxAttempts */, p.maxAttempts ?? 0, "ojs.v1.RetryPolicy.max_attempts");
  if (p.initialInterval !== undefined) writeDurationField(w, 0x12 /* RETRY.initialInterval */, p.initialInterval);
  const coefficient = p.backoffCoefficient ?? 0;
  if (coefficient !== 0) {
    writeTag(w, 0x19 /* RETRY.backoffCoefficient */);
    w.double(coefficient);
  }
  if (p.maxInterval !== undefined) writeDurationField(w, 0x22 /* RETRY.maxInterval */, p.maxInterval);
  if (p.jitter ?? true) {
    writeTag(w, 0x28 /* RETRY.jitter */);
    w.byte(1);
  }
  writeStrings(w, 0x32 /* RETRY.nonRetryableErrors */, p.nonRetryableErrors);
  writeStringField(w, 0x3a /* RETRY.onExhaustion */, p.onExhaustion ?? "");
}

export function writeUniqueBody(w: Writer, u: UniquePolicy): void {
  writeStrings(w, 0x0a /* UNIQUE.key */, u.keys);
  if (u.period !== undefined) writeDurationField(w, 0x12 /* UNIQUE.period */, u.period);
  writeEnumField(w, 0x18 /* UNIQUE.onConflict */, conflictNumber(u.onConflict));
  const states = u.states;
  if (states && states.length > 0) {
    // Packed (proto3's default for repeated enums); every number fits one byte.
    writeTag(w, 0x22 /* UNIQUE.states */);
    const at = w.open();
    for (let i = 0; i < states.length; i++) w.byte(requireStateNumber(states[i]!, "ojs.v1.UniquePolicy.states"));
    w.close(at);
  }
  writeStrings(w, 0x2a /* UNIQUE.argsKeys */, u.argsKeys);
  writeStrings(w, 0x32 /* UNIQUE.metaKeys */, u.metaKeys);
}

/** A repeated string field: one tag and string per element. */
export function writeStrings(w: Writer, tag: number, list: readonly string[] | undefined): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    writeTag(w, tag);
    w.string(list[i]!);
  }
}

export const RETRY_FIELDS = fieldTable(RetryPolicySchema);

// The last RetryPolicy body read and what it read to. Nearly every job a process reads carries the
// same policy (the server's default, or its queue's): the bytes compare in a fraction of a read.
let lastRetryBytes = new Uint8Array(0);
let lastRetry: RetryPolicy | undefined;
const MAX_REMEMBERED_RETRY = 64;

/** A copy no other Job shares: the same keys in the same order as readRetry makes them. */
export function copyRetry(p: RetryPolicy): RetryPolicy {
  const out = { ...p };
  if (p.nonRetryableErrors) out.nonRetryableErrors = [...p.nonRetryableErrors];
  return out;
}

export function readRetry(r: Reader, end: number): RetryPolicy {
  const n = end - r.pos;
  if (lastRetry !== undefined && n === lastRetryBytes.length) {
    const b = r.buf;
    const at = r.pos;
    let i = 0;
    while (i < n && b[at + i] === lastRetryBytes[i]) i++;
    if (i === n) {
      r.pos = end;
      return copyRetry(lastRetry);
    }
  }
  const start = r.pos;
  const p = readRetryFields(r, end);
  if (n <= MAX_REMEMBERED_RETRY) {
    lastRetryBytes = r.buf.slice(start, end);
    lastRetry = copyRetry(p);
  }
  return p;
}

function readRetryFields(r: Reader, end: number): RetryPolicy {
  const [maxAttempts, initial, coefficient, maxInterval, jitter = false, nre, onExhaustion] = readFields(r, end, RETRY_FIELDS) as [
    number?,
    number?,
    number?,
    number?,
    boolean?,
    string[]?,
    string?,
  ];
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

export const UNIQUE_FIELDS = fieldTable(UniquePolicySchema);

export function readUnique(r: Reader, end: number): UniquePolicy {
  const [keys, period, conflict = 0, states, argsKeys, metaKeys] = readFields(r, end, UNIQUE_FIELDS) as [
    string[]?,
    number?,
    number?,
    number[]?,
    string[]?,
    string[]?,
  ];
  const u: UniquePolicy = {};
  if (keys) u.keys = keys;
  if (argsKeys) u.argsKeys = argsKeys;
  if (metaKeys) u.metaKeys = metaKeys;
  if (period !== undefined) u.period = period;
  const c = conflict >= 1 && conflict <= 4 ? CONFLICT_NAMES[conflict] : undefined;
  if (c) u.onConflict = c;
  if (states) {
    // Unknown numbers are dropped, as uniqueFromProto does.
    const names: JobState[] = [];
    for (let i = 0; i < states.length; i++) {
      const s = stateName(states[i]!);
      if (s) names.push(s);
    }
    if (names.length > 0) u.states = names;
  }
  return u;
}
