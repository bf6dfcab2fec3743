/**
 * Queue retention on the wire (HTTP/JSON), read and written in one place for
 * the server's config route and the client. A kind's rule is either an ISO
 * 8601 duration (the admin API's form, §6.6: `"completed": "P7D"`) or
 * `{max_count, max_age}` (our extension for a count).
 */
import { ValidationError } from "../model/errors.js";
import { formatIsoDuration, toMillis } from "../model/duration.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import type { QueueRetention, RetentionRule } from "../model/retention.js";

/** The largest count a rule takes (what any server keeps at most is far below). */
export const MAX_RETENTION_COUNT = 100_000_000;
const KINDS = ["completed", "discarded"] as const;

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { issues: [{ path, message }] });
}

/** A rule normalized: count and age in milliseconds, each checked. */
export interface NormalRule {
  count?: number;
  ageMs?: number;
}

/** Checks a rule as given (client or server) and returns it with the age in milliseconds. */
export function normalizeRule(r: unknown, path: string): NormalRule | undefined {
  if (r === undefined || r === null) return undefined;
  if (!isJsonObject(r as JsonValue)) throw invalid(path, "must be an object with count and/or age");
  const o = r as { count?: unknown; age?: unknown };
  for (const k of Object.keys(o)) if (k !== "count" && k !== "age") throw invalid(`${path}.${k}`, "is not a retention field (count, age)");
  const out: NormalRule = {};
  if (o.count !== undefined) {
    if (typeof o.count !== "number" || !Number.isInteger(o.count) || o.count < 0 || o.count > MAX_RETENTION_COUNT)
      throw invalid(`${path}.count`, `must be a whole number from 0 to ${MAX_RETENTION_COUNT}`);
    out.count = o.count;
  }
  if (o.age !== undefined) {
    const ms = typeof o.age === "number" || typeof o.age === "string" ? toMillis(o.age) : undefined;
    if (ms === undefined || !Number.isFinite(ms) || ms <= 0)
      throw invalid(`${path}.age`, 'must be a positive number of milliseconds or an ISO 8601 duration ("P7D")');
    out.ageMs = ms;
  }
  if (out.count === undefined && out.ageMs === undefined) throw invalid(path, "must set count, age or both");
  return out;
}

/** The store's form of a whole retention, undefined when it sets nothing. */
export function normalizeRetention(r: QueueRetention | null | undefined, path = "retention"): { completed?: NormalRule; discarded?: NormalRule } | undefined {
  if (r === null || r === undefined) return undefined;
  if (!isJsonObject(r as unknown as JsonValue)) throw invalid(path, "must be an object with completed and/or discarded");
  for (const k of Object.keys(r)) if (k !== "completed" && k !== "discarded") throw invalid(`${path}.${k}`, "is not a kind (completed, discarded)");
  const out: { completed?: NormalRule; discarded?: NormalRule } = {};
  for (const k of KINDS) {
    const n = normalizeRule(r[k], `${path}.${k}`);
    if (n) out[k] = n;
  }
  return out.completed || out.discarded ? out : undefined;
}

/** Wire → store form. `null` (clear) stays null. */
export function retentionFromJson(v: JsonValue | undefined, path = "retention"): { completed?: NormalRule; discarded?: NormalRule } | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!isJsonObject(v)) throw invalid(path, "must be an object with completed and/or discarded, or null");
  const given: QueueRetention = {};
  for (const k of Object.keys(v)) if (k !== "completed" && k !== "discarded") throw invalid(`${path}.${k}`, "is not a kind (completed, discarded)");
  for (const k of KINDS) {
    const r = v[k];
    if (r === undefined || r === null) continue;
    if (typeof r === "string") given[k] = { age: r };
    else if (isJsonObject(r)) {
      for (const f of Object.keys(r))
        if (f !== "max_count" && f !== "max_age") throw invalid(`${path}.${k}.${f}`, "is not a retention field (max_count, max_age)");
      const rule: RetentionRule = {};
      if (r.max_count !== undefined) rule.count = r.max_count as number;
      if (r.max_age !== undefined) rule.age = r.max_age as number | string;
      given[k] = rule;
    } else throw invalid(`${path}.${k}`, 'must be an ISO 8601 duration ("P7D") or {max_count, max_age}');
  }
  return normalizeRetention(given, path) ?? null;
}

/** Store form → wire: `{max_count, max_age}` per kind, the age as an ISO 8601 duration. */
export function retentionToJson(r: { completed?: NormalRule; discarded?: NormalRule }): JsonObject {
  return perKind(r, (rule) => ruleOf<JsonValue>(rule, "max_count", "max_age", formatIsoDuration)) as JsonObject;
}

/** `f` of each kind's rule that is set. */
function perKind<A, B>(r: { completed?: A; discarded?: A }, f: (a: A) => B): { completed?: B; discarded?: B } {
  const out: { completed?: B; discarded?: B } = {};
  for (const k of KINDS) {
    const a = r[k];
    if (a) out[k] = f(a);
  }
  return out;
}

/** A normalized rule under other names, the age converted by `age`. */
function ruleOf<V>(rule: NormalRule, countKey: string, ageKey: string, age: (ms: number) => V): Record<string, number | V> {
  const o: Record<string, number | V> = {};
  if (rule.count !== undefined) o[countKey] = rule.count;
  if (rule.ageMs !== undefined) o[ageKey] = age(rule.ageMs);
  return o;
}

/** Wire (a server's answer) → the model, ages in milliseconds. */
export function retentionModelFromJson(v: JsonValue | undefined): QueueRetention | undefined {
  if (!isJsonObject(v)) return undefined;
  try {
    const n = retentionFromJson(v);
    if (!n) return undefined;
    return perKind(n, (r): RetentionRule => ruleOf(r, "count", "age", (ms) => ms));
  } catch {
    return undefined;
  }
}
