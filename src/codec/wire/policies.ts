/**
 * ojs.v1.RetryPolicy and ojs.v1.UniquePolicy between domain objects and wire
 * bytes, as retryToProto/uniqueToProto and their inverses (../proto.ts) mean them.
 *
 * Tags are literals stamped from the descriptors (RETRY, UNIQUE in tags.generated.ts; README.md).
 */
import type { JobState, RetryPolicy, UniquePolicy } from "../../model/job.js";
import { WireFormatError, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { CONFLICT_NAMES, conflictNumber, requireStateNumber, stateName } from "./enums.js";
import { fieldEnd, writeDurationField, writeInt32Field, writeStringField, writeTag } from "./json.js";
import { LEAF, one, shape, type Shape } from "./merge.js";
import { onceDuration, writeEnumField } from "./fields.js";

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
      case 0x08 /* RETRY.maxAttempts */:
        maxAttempts = r.uint32() | 0;
        break;
      case 0x12 /* RETRY.initialInterval */:
        initial = onceDuration(r, initial);
        break;
      case 0x19 /* RETRY.backoffCoefficient */:
        coefficient = r.double();
        break;
      case 0x22 /* RETRY.maxInterval */:
        maxInterval = onceDuration(r, maxInterval);
        break;
      case 0x28 /* RETRY.jitter */:
        jitter = r.bool();
        break;
      case 0x32 /* RETRY.nonRetryableErrors */:
        (nre ??= []).push(r.string());
        break;
      case 0x3a /* RETRY.onExhaustion */:
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
      case 0x0a /* UNIQUE.key */:
        (keys ??= []).push(r.string());
        break;
      case 0x12 /* UNIQUE.period */:
        period = onceDuration(r, period);
        break;
      case 0x18 /* UNIQUE.onConflict */:
        conflict = r.uint32() | 0;
        break;
      case 0x20 /* UNIQUE.states unpacked */: {
        // Unpacked (proto2 style): one varint per element. Unknown numbers are dropped, as uniqueFromProto does.
        const s = stateName(r.uint32() | 0);
        if (s) (states ??= []).push(s);
        break;
      }
      case 0x22 /* UNIQUE.states */: {
        const e = fieldEnd(r);
        while (r.pos < e) {
          const s = stateName(r.uint32() | 0);
          if (s) (states ??= []).push(s);
        }
        if (r.pos !== e) throw new WireFormatError("a packed field runs past its length");
        break;
      }
      case 0x2a /* UNIQUE.argsKeys */:
        (argsKeys ??= []).push(r.string());
        break;
      case 0x32 /* UNIQUE.metaKeys */:
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
