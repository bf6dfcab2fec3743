/**
 * ojs.v1.RetryPolicy and ojs.v1.UniquePolicy between domain objects and wire
 * bytes, as retryToProto/uniqueToProto and their inverses (../proto.ts) mean them.
 *
 * Field numbers (proto/ojs/v1/job.proto), with the tag bytes used below:
 * RetryPolicy: 1 max_attempts 0x08, 2 initial_interval 0x12, 3 backoff_coefficient 0x19,
 *   4 max_interval 0x22, 5 jitter 0x28, 6 non_retryable_errors 0x32, 7 on_exhaustion 0x3a;
 * UniquePolicy: 1 keys 0x0a, 2 period 0x12, 3 on_conflict 0x18, 4 states 0x22 (packed) / 0x20,
 *   5 args_keys 0x2a, 6 meta_keys 0x32.
 */
import type { JobState, RetryPolicy, UniquePolicy } from "../../model/job.js";
import { NEEDS_MERGE, WireFormatError, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { CONFLICT_NAMES, conflictNumber, requireStateNumber, stateName } from "./enums.js";
import { fieldEnd, readDurationMs, writeDurationField, writeInt32Field, writeStringField, writeTag } from "./json.js";
import { LEAF, one, shape, type Shape } from "./merge.js";

/** Where RetryPolicy has message fields (for merge.ts). */
export const RETRY_SHAPE: Shape = shape({ 2: one(() => LEAF), 4: one(() => LEAF) });
/** Where UniquePolicy has message fields (for merge.ts). */
export const UNIQUE_SHAPE: Shape = shape({ 2: one(() => LEAF) });

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

/** A repeated string field: one tag and string per element. */
export function writeStrings(w: Writer, tag: number, list: readonly string[] | undefined): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    writeTag(w, tag);
    w.string(list[i]!);
  }
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
