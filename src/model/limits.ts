/**
 * The limits on what a request may carry: one set, read by the server on both
 * bindings (HTTP/JSON and gRPC, including the hand-framed methods) and by the
 * client before it sends anything. A value past a limit is refused with a
 * non-retryable ValidationError (`validation_error`, or `payload_too_large`
 * for a whole message) whose message and details name the limit, so a caller
 * can tell which knob it hit. See docs/limits.md for every default and why.
 */
import { ValidationError } from "./errors.js";
import type { JsonValue } from "./json.js";

/**
 * What one request may carry and what the server may hold, the same on both bindings and
 * checked by the client before sending (docs/limits.md gives each default and why).
 */
export interface Limits {
  /**
   * Deepest nesting of a JSON value (args, meta, a result, progress data,
   * error details). Every array or object counts one level, the outer one
   * included: `[]` is 1 deep, `[[1]]` 2. Default 64; at most MAX_DEPTH_CEILING.
   */
  maxDepth: number;
  /** Largest message: an HTTP request body, or one gRPC message as framed. Default 4 MiB. */
  maxMessageBytes: number;
  /** Largest `args` of one job, measured as JSON (see jsonSize). Default 1 MiB. */
  maxArgsBytes: number;
  /** Largest `meta` of one job, measured as JSON. Default 64 KiB. */
  maxMetaBytes: number;
  /** Most jobs in one batch enqueue. Default 1000. */
  maxBatchJobs: number;
  /** Largest result of one job (and progress data, a checkpoint of one), measured as JSON. Default 1 MiB. */
  maxResultBytes: number;
  /**
   * Server only: the args and meta of all unfinished jobs it holds, in bytes
   * measured as JSON. An enqueue past it is refused with the retryable
   * `queue_full` (429 / RESOURCE_EXHAUSTED): the server is full for now, not
   * the request wrong. Default 256 MiB.
   */
  maxQueuedBytes: number;
}

/**
 * The hard ceiling of maxDepth. The codecs refuse values nested deeper than
 * CODEC_MAX_DEPTH (above this ceiling, far below what would overflow the
 * stack), so a configured limit always meets the codecs' own with room to spare.
 */
export const MAX_DEPTH_CEILING = 256;
/** What the recursive codecs (protobuf Value/Struct, JSON conversions) accept at most. */
export const CODEC_MAX_DEPTH = 512;

const MiB = 1024 * 1024;

/** The limits a server and a client use unless told otherwise. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 64,
  maxMessageBytes: 4 * MiB,
  maxArgsBytes: 1 * MiB,
  maxMetaBytes: 64 * 1024,
  maxBatchJobs: 1000,
  maxResultBytes: 1 * MiB,
  maxQueuedBytes: 256 * MiB,
});

/** The limits with the caller's overrides, each checked to be a positive integer. */
export function resolveLimits(overrides: Partial<Limits> = {}): Readonly<Limits> {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(overrides) as Array<[keyof Limits, unknown]>) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_LIMITS)) throw new ValidationError(`limits.${k}: is not a limit`, { issues: [{ path: `limits.${k}`, message: "is not a limit" }] });
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
      throw new ValidationError(`limits.${k}: must be a positive integer`, { issues: [{ path: `limits.${k}`, message: "must be a positive integer" }] });
    out[k] = v;
  }
  if (out.maxDepth > MAX_DEPTH_CEILING)
    throw new ValidationError(`limits.maxDepth: must be at most ${MAX_DEPTH_CEILING}`, {
      issues: [{ path: "limits.maxDepth", message: `must be at most ${MAX_DEPTH_CEILING}` }],
    });
  return Object.freeze(out);
}

/** Returned by jsonSize for a value nested deeper than allowed. */
export const TOO_DEEP = -1;

/**
 * The size of a value as JSON text in UTF-8, without escapes and with every
 * number counted as 8 bytes (what it takes in protobuf), or TOO_DEEP when it
 * nests deeper than `maxDepth`. Recursive, but never deeper than maxDepth + 1
 * frames, which MAX_DEPTH_CEILING keeps small: input cannot drive it further.
 * Anything that is not JSON (undefined, functions) counts as `null`; whether a
 * value is JSON is the validators' question, not this one's.
 */
export function jsonSize(v: unknown, maxDepth: number): number {
  return sizeAt(v, 0, Math.min(maxDepth, CODEC_MAX_DEPTH));
}

function sizeAt(v: unknown, depth: number, max: number): number {
  switch (typeof v) {
    case "string":
      return utf8Length(v) + 2;
    case "number":
      return 8;
    case "boolean":
      return v ? 4 : 5;
    case "object": {
      if (v === null) return 4;
      if (depth >= max) return TOO_DEEP;
      let n = 2;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const s = sizeAt(v[i], depth + 1, max);
          if (s === TOO_DEEP) return TOO_DEEP;
          n += s + 1;
        }
        return n;
      }
      for (const k in v) {
        const s = sizeAt((v as Record<string, unknown>)[k], depth + 1, max);
        if (s === TOO_DEEP) return TOO_DEEP;
        n += utf8Length(k) + 4 + s;
      }
      return n;
    }
    default:
      return 4;
  }
}

function utf8Length(s: string): number {
  const n = s.length;
  // Long strings: the native count. Short ones: a loop is cheaper than the call.
  if (n > 64) return Buffer.byteLength(s, "utf8");
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) bytes += c >= 0x800 ? (c >= 0xd800 && c < 0xdc00 ? 1 : 2) : 1;
  }
  return bytes;
}

/** Which limit, for the error: its name in Limits and its configured value. */
export function limitError(limit: keyof Limits, value: number, what: string, actual?: number, path?: string): ValidationError {
  const message =
    limit === "maxDepth"
      ? `${what} nests deeper than the limit maxDepth=${value}`
      : limit === "maxBatchJobs"
        ? `${what} has ${actual} jobs, over the limit maxBatchJobs=${value}`
        : actual === undefined
          ? `${what} is over the limit ${limit}=${value}`
          : `${what} is ${actual} bytes, over the limit ${limit}=${value}`;
  const details: Record<string, string | number> = { limit, max: value };
  if (actual !== undefined) details.actual = actual;
  const code = limit === "maxMessageBytes" ? "payload_too_large" : "validation_error";
  return new ValidationError(message, { code, details, issues: [{ path: path ?? what, message: limitMessage(limit, value) }] });
}

function limitMessage(limit: keyof Limits, value: number): string {
  return limit === "maxDepth" ? `nests deeper than maxDepth=${value}` : `over the limit ${limit}=${value}`;
}

/**
 * Checks one JSON value against the depth limit and a size limit; returns its
 * size. `path` names the field in the error ("args", "jobs[3].meta", "result").
 */
export function checkValue(limits: Readonly<Limits>, v: unknown, sizeLimit: "maxArgsBytes" | "maxMetaBytes" | "maxResultBytes", path: string): number {
  const size = jsonSize(v, limits.maxDepth);
  if (size === TOO_DEEP) throw limitError("maxDepth", limits.maxDepth, path);
  if (size > limits[sizeLimit]) throw limitError(sizeLimit, limits[sizeLimit], path, size);
  return size;
}

/** What the limits look at in a job request, before any validation that could recurse. */
export interface LimitedRequest {
  args?: unknown;
  meta?: unknown;
  options?: unknown;
}

/**
 * Checks a job's args and meta (either at the top or under `options`, as the
 * SDK's JobRequest has it); returns their size, what the job costs the queue.
 */
export function checkJobRequest(limits: Readonly<Limits>, req: LimitedRequest, prefix = ""): number {
  let bytes = checkValue(limits, req.args, "maxArgsBytes", `${prefix}args`);
  if (req.meta !== undefined) bytes += checkValue(limits, req.meta, "maxMetaBytes", `${prefix}meta`);
  const o = req.options;
  if (typeof o === "object" && o !== null && !Array.isArray(o)) {
    const meta = (o as { meta?: unknown }).meta;
    if (meta !== undefined) bytes += checkValue(limits, meta, "maxMetaBytes", `${prefix}meta`);
  }
  return bytes;
}

export function checkBatchSize(limits: Readonly<Limits>, count: number, path = "jobs"): void {
  if (count > limits.maxBatchJobs) throw limitError("maxBatchJobs", limits.maxBatchJobs, path, count);
}

/** A JSON value's size when it is known to be within the limits (the queue accounting). */
export function jsonBytes(v: JsonValue | undefined): number {
  if (v === undefined) return 0;
  const n = jsonSize(v, CODEC_MAX_DEPTH);
  return n === TOO_DEEP ? 0 : n;
}
