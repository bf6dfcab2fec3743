/**
 * ojs.v1.EnqueueRequest / EnqueueOptions <-> NormalizedJobRequest, meaning what
 * requestToProto/optionsToProto and requestFromProto/optionsFromProto mean
 * (../proto.ts): id, schema, absolute expiry and backoff strategy ride in meta
 * under reserved keys; expiry also goes out as a relative ttl for servers that
 * ignore the key.
 *
 * EnqueueRequest: 1 type 0x0a, 2 args 0x12, 3 options 0x1a
 * EnqueueOptions: 1 queue 0x0a, 2 priority 0x10, 3 delay_until 0x1a, 4 timeout 0x22,
 *   5 retry 0x2a, 6 unique 0x32, 7 ttl 0x3a, 8 tags 0x42, 9 trace_id (ignored),
 *   10 meta 0x52, 11 max_attempts 0x58, 12 visibility_timeout 0x62
 */
import { formatInstant, parseInstant } from "../values.js";
import { rateLimitFromWire, rateLimitToJson } from "../rate-limit.js";
import type { NormalizedJobRequest, RetryPolicy, UniquePolicy } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import { NEEDS_MERGE, type Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import {
  fieldEnd,
  lastEntryKey,
  lastEntryValue,
  readDurationMs,
  readEntry,
  readTimestampMs,
  readValue,
  setKey,
  writeDurationField,
  writeInt32Field,
  writeStringField,
  writeTimestampField,
  writeValueField,
} from "./json.js";
import { hasKeys, setOverride, writeStructOverriding } from "./job.js";
import { isBackoffStrategy } from "./enums.js";
import { readRetry, readUnique, RETRY_SHAPE, UNIQUE_SHAPE, writeRetryBody, writeUniqueBody } from "./policies.js";
import { LEAF, one, shape, type Shape } from "./merge.js";

// Same strings as RESERVED_META in ../proto.ts.
export const META_ID = "ojs.id";
export const META_SCHEMA = "ojs.schema";
export const META_EXPIRES_AT = "ojs.expires_at";
export const META_BACKOFF_STRATEGY = "ojs.backoff_strategy";
export const META_RATE_LIMIT = "ojs.rate_limit";

export type EnqueueOptionsFields = Omit<NormalizedJobRequest, "type" | "args">;

export const OPTIONS_SHAPE: Shape = shape({
  3: one(() => LEAF),
  4: one(() => LEAF),
  5: one(() => RETRY_SHAPE),
  6: one(() => UNIQUE_SHAPE),
  7: one(() => LEAF),
  10: one(() => LEAF),
  12: one(() => LEAF),
});
export const ENQUEUE_REQUEST_SHAPE: Shape = shape({ 3: one(() => OPTIONS_SHAPE) });

// --- encode -----------------------------------------------------------------------

/**
 * `tunnel` false leaves out the reserved meta keys ("ojs.id" and co.) that only
 * an ojs-connect server reads: another server would store them as user meta.
 */
export function writeOptionsBody(w: Writer, r: EnqueueOptionsFields, now: number, tunnel = true): void {
  writeStringField(w, 0x0a, r.queue ?? "");
  writeInt32Field(w, 0x10, r.priority ?? 0, "ojs.v1.EnqueueOptions.priority");
  if (r.scheduledAt !== undefined) writeTimestampField(w, 0x1a, r.scheduledAt);
  if (r.timeout !== undefined) writeDurationField(w, 0x22, r.timeout);
  let at = 0;
  if (r.retry !== undefined) {
    w.byte(0x2a);
    at = w.open();
    writeRetryBody(w, r.retry);
    w.close(at);
  }
  if (r.unique !== undefined) {
    w.byte(0x32);
    at = w.open();
    writeUniqueBody(w, r.unique);
    w.close(at);
  }
  // Servers that ignore the reserved key still expire the job through ttl.
  if (r.expiresAt !== undefined) writeDurationField(w, 0x3a, Math.max(0, r.expiresAt.getTime() - now));
  const tags = r.tags;
  if (tags) {
    for (let i = 0; i < tags.length; i++) {
      w.byte(0x42);
      w.string(tags[i]!);
    }
  }
  const strategy = tunnel ? r.retry?.backoffStrategy : undefined;
  const id = tunnel ? r.id : undefined;
  const schema = tunnel ? r.schema : undefined;
  const expires = tunnel && r.expiresAt ? formatInstant(r.expiresAt) : undefined;
  const rateLimit = tunnel && r.rateLimit !== undefined ? rateLimitToJson(r.rateLimit) : undefined;
  if (r.meta !== undefined || id !== undefined || schema !== undefined || expires !== undefined || strategy !== undefined || rateLimit !== undefined) {
    w.byte(0x52);
    at = w.open();
    setOverride(0, META_ID, id);
    setOverride(1, META_SCHEMA, schema);
    setOverride(2, META_EXPIRES_AT, expires);
    setOverride(3, META_BACKOFF_STRATEGY, strategy);
    setOverride(4, META_RATE_LIMIT, rateLimit);
    writeStructOverriding(w, r.meta, 5);
    w.close(at);
  }
  writeInt32Field(w, 0x58, r.retry?.maxAttempts ?? 0, "ojs.v1.EnqueueOptions.max_attempts");
  if (r.visibilityTimeout !== undefined) writeDurationField(w, 0x62, r.visibilityTimeout);
}

export function writeEnqueueRequestBody(w: Writer, r: NormalizedJobRequest, now: number, tunnel = true): void {
  writeStringField(w, 0x0a, r.type);
  const args = r.args;
  for (let i = 0; i < args.length; i++) writeValueField(w, 0x12, args[i]);
  // requestToProto always sets options, so the field is always there, even empty.
  w.byte(0x1a);
  const at = w.open();
  writeOptionsBody(w, r, now, tunnel);
  w.close(at);
}

// --- decode -----------------------------------------------------------------------

/** optionsFromProto, adding the fields to `out`. */
export function readOptionsInto(r: Reader, end: number, out: EnqueueOptionsFields, now: number): void {
  let queue = "";
  let priority = 0;
  let delayUntil: number | undefined;
  let timeout: number | undefined;
  let retry: RetryPolicy | undefined;
  let unique: UniquePolicy | undefined;
  let ttl: number | undefined;
  let tags: string[] | undefined;
  let meta: JsonObject | undefined;
  let id: JsonValue | undefined;
  let schema: JsonValue | undefined;
  let expiresAt: JsonValue | undefined;
  let strategy: JsonValue | undefined;
  let rateLimit: JsonValue | undefined;
  let maxAttempts = 0;
  let visibilityTimeout: number | undefined;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        queue = r.string();
        break;
      case 0x10:
        priority = r.uint32() | 0;
        break;
      case 0x1a:
        if (delayUntil !== undefined) throw NEEDS_MERGE;
        delayUntil = readTimestampMs(r, fieldEnd(r));
        break;
      case 0x22:
        if (timeout !== undefined) throw NEEDS_MERGE;
        timeout = readDurationMs(r, fieldEnd(r));
        break;
      case 0x2a:
        if (retry !== undefined) throw NEEDS_MERGE;
        retry = readRetry(r, fieldEnd(r));
        break;
      case 0x32:
        if (unique !== undefined) throw NEEDS_MERGE;
        unique = readUnique(r, fieldEnd(r));
        break;
      case 0x3a:
        if (ttl !== undefined) throw NEEDS_MERGE;
        ttl = readDurationMs(r, fieldEnd(r));
        break;
      case 0x42:
        (tags ??= []).push(r.string());
        break;
      case 0x52: {
        // meta, with the reserved keys lifted out as they come (a later entry wins).
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
          if (k.charCodeAt(0) === 0x6f /* o */ && k.startsWith("ojs.")) {
            if (k === META_ID) {
              id = lastEntryValue();
              continue;
            }
            if (k === META_SCHEMA) {
              schema = lastEntryValue();
              continue;
            }
            if (k === META_EXPIRES_AT) {
              expiresAt = lastEntryValue();
              continue;
            }
            if (k === META_BACKOFF_STRATEGY) {
              strategy = lastEntryValue();
              continue;
            }
            if (k === META_RATE_LIMIT) {
              rateLimit = lastEntryValue();
              continue;
            }
          }
          setKey(meta, k, lastEntryValue());
        }
        expectEnd(r, e);
        break;
      }
      case 0x58:
        maxAttempts = r.uint32() | 0;
        break;
      case 0x62:
        if (visibilityTimeout !== undefined) throw NEEDS_MERGE;
        visibilityTimeout = readDurationMs(r, fieldEnd(r));
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  if (typeof id === "string") out.id = id;
  if (typeof schema === "string") out.schema = schema;
  // An empty meta says nothing (the server defaults it to {}); normalized requests leave it out.
  if (meta !== undefined && hasKeys(meta)) out.meta = meta;
  if (queue) out.queue = queue;
  if (priority) out.priority = priority;
  if (tags) out.tags = tags;
  if (delayUntil !== undefined) out.scheduledAt = new Date(delayUntil);
  if (timeout !== undefined) out.timeout = timeout;
  if (maxAttempts) {
    if (retry) retry.maxAttempts = maxAttempts;
    else retry = { maxAttempts };
  }
  if (isBackoffStrategy(strategy)) {
    if (retry) retry.backoffStrategy = strategy;
    else retry = { backoffStrategy: strategy };
  }
  if (retry) out.retry = retry;
  if (unique) out.unique = unique;
  const at = parseInstant(expiresAt);
  if (at) out.expiresAt = at;
  else if (ttl !== undefined) out.expiresAt = new Date(now + ttl);
  if (visibilityTimeout !== undefined) out.visibilityTimeout = visibilityTimeout;
  if (rateLimit !== undefined) out.rateLimit = rateLimitFromWire(rateLimit);
}

export function readEnqueueRequest(r: Reader, end: number, now: number): NormalizedJobRequest {
  let type = "";
  const args: JsonValue[] = [];
  let optionsAt = -1;
  let optionsEnd = 0;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a:
        type = r.string();
        break;
      case 0x12: {
        const e = fieldEnd(r);
        args.push(readValue(r, e, null));
        break;
      }
      case 0x1a:
        // Options are read after the loop so that they land after type and args, whatever the field order.
        if (optionsAt >= 0) throw NEEDS_MERGE;
        optionsEnd = fieldEnd(r);
        optionsAt = r.pos;
        r.pos = optionsEnd;
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const req: NormalizedJobRequest = { type, args };
  if (optionsAt >= 0) {
    r.pos = optionsAt;
    readOptionsInto(r, optionsEnd, req, now);
    r.pos = end;
  }
  return req;
}
