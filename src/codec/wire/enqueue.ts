/**
 * ojs.v1.EnqueueRequest / EnqueueOptions <-> NormalizedJobRequest, meaning what
 * requestToProto/optionsToProto and requestFromProto/optionsFromProto mean
 * (../proto.ts): id, schema, absolute expiry and backoff strategy ride in meta
 * under reserved keys; expiry also goes out as a relative ttl for servers that
 * ignore the key.
 * Tags are literals stamped from the descriptors (ENQUEUE_REQUEST, OPTIONS in tags.generated.ts; README.md).
 */
import { formatInstant, parseInstant } from "../values.js";
import { rateLimitFromWire, rateLimitToJson } from "../rate-limit.js";
import type { NormalizedJobRequest, RetryPolicy, UniquePolicy } from "../../model/job.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import type { Writer } from "./buffer.js";
import { Reader, expectEnd } from "./reader.js";
import { fieldEnd, readValue, writeDurationField, writeInt32Field, writeStringField, writeTimestampField, writeTag, writeValueField } from "./json.js";
import { hasKeys, readMetaLifting, setOverride, writeStructOverriding } from "./job.js";
import { deferMessage, onceDuration, onceMessage, onceTimestamp, writeMessageField } from "./fields.js";
import { isBackoffStrategy } from "./enums.js";
import { readRetry, readUnique, RETRY_SHAPE, UNIQUE_SHAPE, writeRetryBody, writeStrings, writeUniqueBody } from "./policies.js";
import { LEAF, one, shape, type Shape } from "./merge.js";

// Same strings as RESERVED_META in ../proto.ts.
export const META_ID = "ojs.id";
export const META_SCHEMA = "ojs.schema";
export const META_EXPIRES_AT = "ojs.expires_at";
export const META_BACKOFF_STRATEGY = "ojs.backoff_strategy";
export const META_RATE_LIMIT = "ojs.rate_limit";

/** The meta keys readOptionsInto lifts out of a request's meta. */
export const OPTIONS_RESERVED_META: readonly string[] = [META_ID, META_SCHEMA, META_EXPIRES_AT, META_BACKOFF_STRATEGY, META_RATE_LIMIT];

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
  writeStringField(w, 0x0a /* OPTIONS.queue */, r.queue ?? "");
  writeInt32Field(w, 0x10 /* OPTIONS.priority */, r.priority ?? 0, "ojs.v1.EnqueueOptions.priority");
  if (r.scheduledAt !== undefined) writeTimestampField(w, 0x1a /* OPTIONS.delayUntil */, r.scheduledAt);
  if (r.timeout !== undefined) writeDurationField(w, 0x22 /* OPTIONS.timeout */, r.timeout);
  if (r.retry !== undefined) writeMessageField(w, 0x2a /* OPTIONS.retry */, writeRetryBody, r.retry);
  if (r.unique !== undefined) writeMessageField(w, 0x32 /* OPTIONS.unique */, writeUniqueBody, r.unique);
  // Servers that ignore the reserved key still expire the job through ttl.
  if (r.expiresAt !== undefined) writeDurationField(w, 0x3a /* OPTIONS.ttl */, Math.max(0, r.expiresAt.getTime() - now));
  writeStrings(w, 0x42 /* OPTIONS.tags */, r.tags);
  const strategy = tunnel ? r.retry?.backoffStrategy : undefined;
  const id = tunnel ? r.id : undefined;
  const schema = tunnel ? r.schema : undefined;
  const expires = tunnel && r.expiresAt ? formatInstant(r.expiresAt) : undefined;
  const rateLimit = tunnel && r.rateLimit !== undefined ? rateLimitToJson(r.rateLimit) : undefined;
  if (r.meta !== undefined || id !== undefined || schema !== undefined || expires !== undefined || strategy !== undefined || rateLimit !== undefined) {
    writeTag(w, 0x52 /* OPTIONS.meta */);
    const at = w.open();
    setOverride(0, META_ID, id);
    setOverride(1, META_SCHEMA, schema);
    setOverride(2, META_EXPIRES_AT, expires);
    setOverride(3, META_BACKOFF_STRATEGY, strategy);
    setOverride(4, META_RATE_LIMIT, rateLimit);
    writeStructOverriding(w, r.meta, 5);
    w.close(at);
  }
  writeInt32Field(w, 0x58 /* OPTIONS.maxAttempts */, r.retry?.maxAttempts ?? 0, "ojs.v1.EnqueueOptions.max_attempts");
  if (r.visibilityTimeout !== undefined) writeDurationField(w, 0x62 /* OPTIONS.visibilityTimeout */, r.visibilityTimeout);
}

export function writeEnqueueRequestBody(w: Writer, r: NormalizedJobRequest, now: number, tunnel = true): void {
  writeStringField(w, 0x0a /* ENQUEUE_REQUEST.type */, r.type);
  const args = r.args;
  for (let i = 0; i < args.length; i++) writeValueField(w, 0x12 /* ENQUEUE_REQUEST.args */, args[i]);
  // requestToProto always sets options, so the field is always there, even empty.
  writeTag(w, 0x1a /* ENQUEUE_REQUEST.options */);
  const at = w.open();
  writeOptionsBody(w, r, now, tunnel);
  w.close(at);
}

// --- decode -----------------------------------------------------------------------

/**
 * What readOptionsInto lifts out of meta: id, schema, expiresAt, backoff strategy, rate limit
 * (OPTIONS_RESERVED_META's order). One array for every call, not one per batch entry: the
 * function is not reentrant (nothing it reads holds options) and reads it out before returning.
 */
const LIFTED: (JsonValue | undefined)[] = [undefined, undefined, undefined, undefined, undefined];

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
  const lifted = LIFTED;
  lifted.fill(undefined);
  let maxAttempts = 0;
  let visibilityTimeout: number | undefined;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 0x0a /* OPTIONS.queue */:
        queue = r.string();
        break;
      case 0x10 /* OPTIONS.priority */:
      case 0x58 /* OPTIONS.maxAttempts */: {
        // The two int32 fields, read once here.
        const n = r.uint32() | 0;
        if (t === 0x10 /* OPTIONS.priority */) priority = n;
        else maxAttempts = n;
        break;
      }
      case 0x1a /* OPTIONS.delayUntil */:
        delayUntil = onceTimestamp(r, delayUntil);
        break;
      case 0x22 /* OPTIONS.timeout */:
        timeout = onceDuration(r, timeout);
        break;
      case 0x2a /* OPTIONS.retry */:
        retry = onceMessage(r, retry, readRetry);
        break;
      case 0x32 /* OPTIONS.unique */:
        unique = onceMessage(r, unique, readUnique);
        break;
      case 0x3a /* OPTIONS.ttl */:
        ttl = onceDuration(r, ttl);
        break;
      case 0x42 /* OPTIONS.tags */:
        (tags ??= []).push(r.string());
        break;
      case 0x52 /* OPTIONS.meta */:
        readMetaLifting(r, (meta ??= {}), OPTIONS_RESERVED_META, lifted);
        break;
      case 0x62 /* OPTIONS.visibilityTimeout */:
        visibilityTimeout = onceDuration(r, visibilityTimeout);
        break;
      default:
        r.skip(t);
    }
  }
  expectEnd(r, end);
  const id = lifted[0];
  const schema = lifted[1];
  const expiresAt = lifted[2];
  const strategy = lifted[3];
  const rateLimit = lifted[4];
  if (typeof id === "string") out.id = id;
  if (typeof schema === "string") out.schema = schema;
  // An empty meta says nothing (the server defaults it to {}); normalized requests leave it out.
  if (meta !== undefined && hasKeys(meta)) out.meta = meta;
  if (queue) out.queue = queue;
  if (priority) out.priority = priority;
  if (tags) out.tags = tags.slice();
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
  let args: JsonValue[] | undefined;
  let optionsAt = -1;
  while (r.pos < end) {
    const t = r.tag();
    if (t === 0x0a /* ENQUEUE_REQUEST.type */) type = r.string();
    else if (t === 0x12 /* ENQUEUE_REQUEST.args */) {
      const v = readValue(r, fieldEnd(r), null);
      if (args === undefined) args = [v];
      else args.push(v);
    }
    // Options are read after the loop so that they land after type and args, whatever the field order.
    else if (t === 0x1a /* ENQUEUE_REQUEST.options */) optionsAt = deferMessage(r, optionsAt);
    else r.skip(t);
  }
  expectEnd(r, end);
  // The args (and tags) are kept as long as the job is: sized to what they hold. An array grown by
  // push from [] has room for 16 (144 bytes), which was an eighth of what a stored job held.
  const req: NormalizedJobRequest = { type, args: args === undefined ? [] : args.length > 1 ? args.slice() : args };
  if (optionsAt >= 0) {
    r.pos = optionsAt;
    readOptionsInto(r, fieldEnd(r), req, now);
    r.pos = end;
  }
  return req;
}
