/**
 * A shortcut past zod for the shape almost every enqueue has: a type, args and
 * at most queue, priority, meta, tags and id. It returns exactly what
 * normalizeJobRequest would, or undefined as soon as anything is unusual, in
 * which case the caller runs the full validation (which also words the error).
 * Hot paths (a producer's enqueue, the server's re-check of a decoded request)
 * run tens of thousands of times a second; zod costs several microseconds each.
 */
import type { JobRequest, NormalizedJobRequest } from "./job.js";
import { findNonJson, type JsonObject } from "./json.js";
import { JOB_TYPE_RE, MAX_PRIORITY, MIN_PRIORITY, QUEUE_RE } from "./job-rules.js";
import { UUIDV7_RE } from "./uuid.js";

const SIMPLE_KEYS = new Set(["queue", "priority", "meta", "tags", "id"]);

// The last type and queue that passed their pattern: the jobs of a batch (and a producer's calls)
// mostly repeat them, and a pattern test per job is a good part of these checks. One string each,
// compared by value: a memo of a pure test, bounded.
let typeOk: string | undefined;
let queueOk: string | undefined;

function plainObject(v: unknown): v is JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks the simple fields in place; undefined when one of them is not simple or not valid.
 * `withBase`: `src` also holds type and args (already checked), which are passed over.
 */
function simpleFields(src: Record<string, unknown>, out: NormalizedJobRequest, withBase = false): NormalizedJobRequest | undefined {
  for (const k in src) {
    const v = src[k];
    if (v === undefined || (withBase && (k === "type" || k === "args"))) continue;
    if (!SIMPLE_KEYS.has(k)) return undefined;
    switch (k) {
      case "queue":
        if (typeof v !== "string" || v.length > 255) return undefined;
        if (v !== queueOk) {
          if (!QUEUE_RE.test(v)) return undefined;
          queueOk = v;
        }
        out.queue = v;
        break;
      case "priority":
        if (typeof v !== "number" || !Number.isInteger(v) || v < MIN_PRIORITY || v > MAX_PRIORITY) return undefined;
        out.priority = v;
        break;
      case "meta":
        if (!plainObject(v) || findNonJson(v) !== undefined) return undefined;
        if (Object.keys(v).length > 0) out.meta = v;
        break;
      case "tags":
        if (!Array.isArray(v) || !v.every((t) => typeof t === "string")) return undefined;
        out.tags = v as string[];
        break;
      case "id":
        if (typeof v !== "string" || !UUIDV7_RE.test(v)) return undefined;
        out.id = v;
        break;
    }
  }
  return out;
}

function baseOf(type: unknown, args: unknown): NormalizedJobRequest | undefined {
  if (typeof type !== "string" || type.length > 255) return undefined;
  if (type !== typeOk) {
    if (!JOB_TYPE_RE.test(type)) return undefined;
    typeOk = type;
  }
  if (!Array.isArray(args) || findNonJson(args) !== undefined) return undefined;
  return { type, args };
}

/** What a user passed to enqueue, when it is of the simple shape. */
export function fastNormalize(req: JobRequest): NormalizedJobRequest | undefined {
  const out = baseOf(req.type, req.args);
  if (!out) return undefined;
  const options: unknown = req.options ?? {};
  if (!plainObject(options)) return undefined;
  return simpleFields(options, out);
}

/** A request decoded from the wire (already normalized in form), when it is of the simple shape. */
export function fastRevalidate(req: NormalizedJobRequest): NormalizedJobRequest | undefined {
  const out = baseOf(req.type, req.args);
  if (!out) return undefined;
  // The request itself, type and args passed over: a copy of the rest per request cost more than the checks.
  return simpleFields(req as unknown as Record<string, unknown>, out, true);
}
