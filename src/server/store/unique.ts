import { createHash } from "node:crypto";
import type { JobState, UniquePolicy } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";

/** UQ §2: states in which an existing job blocks a new one when the policy names none. */
export const DEFAULT_UNIQUE_STATES: readonly JobState[] = ["available", "active", "scheduled", "retryable", "pending"];

/**
 * JSON with object keys sorted and strings in Unicode NFC (UQ §4.2), so that
 * {a,b} and {b,a}, or a precomposed and a combining "é", give the same key.
 */
export function canonicalJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isJsonObject(v)) {
    const entries = Object.keys(v).map((k) => [k.normalize("NFC"), v[k]!] as const);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return typeof v === "string" ? JSON.stringify(v.normalize("NFC")) : JSON.stringify(v);
}

function pick(o: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) if (k in o) out[k] = o[k]!;
  return out;
}

/**
 * The uniqueness key of a job under a policy (UQ §3). `type` is always part of
 * it; `args_keys` narrows args to those keys of the first (object) argument and
 * `meta_keys` narrows meta. Hashed, so that huge args cost a fixed 64 bytes in
 * the index.
 */
export function uniqueKey(job: { type: string; queue: string; args: JsonValue[]; meta: JsonObject }, policy: UniquePolicy): string {
  const parts = new Set(policy.keys?.length ? policy.keys : ["type"]);
  const material: JsonObject = { type: job.type };
  if (parts.has("queue")) material.queue = job.queue;
  if (parts.has("args")) {
    const first = job.args[0];
    material.args = policy.argsKeys?.length && first !== undefined && isJsonObject(first) ? pick(first, policy.argsKeys) : job.args;
  }
  if (parts.has("meta")) material.meta = policy.metaKeys?.length ? pick(job.meta, policy.metaKeys) : job.meta;
  return createHash("sha256").update(canonicalJson(material)).digest("hex");
}

/** Whether an existing job with the same key blocks a new one now. */
export function blocks(existing: { state: JobState; createdAt: number }, policy: UniquePolicy, now: number): boolean {
  const states = policy.states?.length ? policy.states : DEFAULT_UNIQUE_STATES;
  if (!states.includes(existing.state)) return false;
  return policy.period === undefined || now - existing.createdAt < policy.period;
}
