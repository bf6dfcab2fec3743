/**
 * The `rate_limit` option on the wire (RL §6.1) <-> the SDK's rateLimit. The
 * JSON form goes out with ISO 8601 periods; reading is lenient in form only:
 * unknown fields pass through so that validation refuses them by name.
 */
import { formatIsoDuration } from "../model/duration.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import { rateLimitSchema, stripRateLimit, type RateLimitPolicy } from "../model/rate-limit.js";

export function rateLimitToJson(p: RateLimitPolicy): JsonObject {
  const o: JsonObject = { key: p.key };
  if (p.concurrency !== undefined) o.concurrency = p.concurrency;
  if (p.rate) o.rate = { limit: p.rate.limit, period: formatIsoDuration(p.rate.period) };
  if (p.throttle) o.throttle = { limit: p.throttle.limit, period: formatIsoDuration(p.throttle.period) };
  if (p.onLimit !== undefined) o.on_limit = p.onLimit;
  return o;
}

/** Unit words one conformance case writes for a period ("rate": 1, "period": "second"). */
const UNIT: Record<string, string> = { second: "PT1S", minute: "PT1M", hour: "PT1H", day: "P1D" };

/**
 * The SDK input a `rate_limit` object means. Also read: a numeric `rate` with
 * a sibling `period` (ISO 8601 or a unit word), the shorthand of EXT-RL-004.
 */
export function rateLimitInputFromJson(v: JsonValue): unknown {
  if (!isJsonObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "on_limit") out.onLimit = x;
    else if (k === "period" && typeof v.rate === "number") continue;
    else if (k === "rate" && typeof x === "number") out.rate = { limit: x, period: periodOf(v.period ?? "second") };
    else if ((k === "rate" || k === "throttle") && isJsonObject(x)) out[k] = { ...x, ...(x.period !== undefined ? { period: periodOf(x.period) } : {}) };
    else out[k] = x;
  }
  return out;
}

function periodOf(p: JsonValue): JsonValue {
  return typeof p === "string" && UNIT[p] !== undefined ? UNIT[p] : p;
}

/**
 * The policy a `rate_limit` value from a binary request means, normalized as a
 * validated request has it; a value that does not validate is passed on as read,
 * for the server's validation to refuse by field name.
 */
export function rateLimitFromWire(v: JsonValue): RateLimitPolicy {
  const input = rateLimitInputFromJson(v);
  const r = rateLimitSchema.safeParse(input);
  return (r.success ? stripRateLimit(r.data) : input) as RateLimitPolicy;
}
