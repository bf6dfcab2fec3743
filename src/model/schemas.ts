import { z } from "zod";
import { toMillis, type Duration } from "./duration.js";
import { ValidationError } from "./errors.js";
import { JOB_STATES, type EnqueueOptions, type JobRequest, type NormalizedJobRequest } from "./job.js";
import { findNonJson, type JsonObject, type JsonValue } from "./json.js";
import { instantFromText } from "./instant.js";
import { rateLimitSchema, stripRateLimit } from "./rate-limit.js";
import { UUIDV7_RE } from "./uuid.js";
import { KEEP_FOR_META } from "./retention.js";
import { fastNormalize } from "./fast-normalize.js";
import { JOB_TYPE_RE, MAX_PRIORITY, MIN_PRIORITY, QUEUE_RE } from "./job-rules.js";
import { unknownKeyMessage } from "../util/did-you-mean.js";

export const jobTypeSchema = z
  .string({ error: "must be a string" })
  .max(255, { error: "must be at most 255 characters" })
  .regex(JOB_TYPE_RE, { error: 'must be lowercase dot-separated words like "email.send"' });

export const queueNameSchema = z
  .string({ error: "must be a string" })
  .max(255, { error: "must be at most 255 characters" })
  .regex(QUEUE_RE, { error: 'must be lowercase letters, digits, "-" and "." and start with a letter or digit' });

export const argsSchema = z.array(z.unknown(), { error: "must be an array (OJS args are positional)" }).superRefine((args, ctx) => {
  const bad = findNonJson(args, "args");
  if (bad) ctx.addIssue({ code: "custom", message: `must contain only JSON values: ${bad}` });
}) as unknown as z.ZodType<JsonValue[]>;

export const jsonObjectSchema = z.record(z.string(), z.unknown(), { error: "must be a plain object" }).superRefine((v, ctx) => {
  const bad = findNonJson(v);
  if (bad) ctx.addIssue({ code: "custom", message: `must contain only JSON values: ${bad}` });
}) as unknown as z.ZodType<JsonObject>;

export const durationSchema = z
  .union([z.number(), z.string()], { error: 'must be milliseconds (number) or an ISO 8601 duration like "PT2S"' })
  .transform((d, ctx) => {
    const ms = toMillis(d as Duration);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: 'must be milliseconds >= 0 or an ISO 8601 duration like "PT2S"' });
      return z.NEVER;
    }
    return ms;
  });

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
export const instantSchema = z.union([z.date(), z.string()], { error: "must be a Date or an RFC 3339 timestamp" }).transform((v, ctx) => {
  const d = typeof v === "string" ? ((RFC3339.test(v) ? instantFromText(v) : undefined) ?? new Date(NaN)) : v;
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: "custom", message: 'must be a valid Date or an RFC 3339 timestamp like "2026-01-01T00:00:00Z"' });
    return z.NEVER;
  }
  return d;
});

/**
 * The error of a strict object: an unknown key is named, with the known key it
 * was probably meant to be ("priorty" -> "priority"); anything else is not an object.
 */
function objectError(shape: object): (issue: { code?: string; keys?: string[] }) => string {
  const known = Object.keys(shape);
  return (issue) =>
    issue.code === "unrecognized_keys" && issue.keys?.length ? issue.keys.map((k) => unknownKeyMessage(k, known)).join("; ") : "must be an object";
}

export const jobStateSchema = z.enum(JOB_STATES, { error: `must be one of ${JOB_STATES.join(", ")}` });

const retryPolicyShape = {
  maxAttempts: z.number().int({ error: "must be an integer >= 0" }).min(0, { error: "must be an integer >= 0" }).optional(),
  initialInterval: durationSchema.optional(),
  backoffCoefficient: z.number().min(1, { error: "must be >= 1 (1 means a constant delay)" }).optional(),
  maxInterval: durationSchema.optional(),
  jitter: z.boolean().optional(),
  nonRetryableErrors: z.array(z.string()).optional(),
  onExhaustion: z.enum(["discard", "dead_letter"], { error: 'must be "discard" or "dead_letter"' }).optional(),
  backoffStrategy: z
    .enum(["exponential", "linear", "constant", "polynomial", "none"], { error: 'must be "exponential", "linear", "constant" or "polynomial"' })
    .transform((s) => (s === "none" ? "constant" : s))
    .optional(),
};

export const retryPolicySchema = z
  .object(retryPolicyShape, { error: objectError(retryPolicyShape) })
  .strict()
  .superRefine((r, ctx) => {
    if (r.initialInterval !== undefined && r.initialInterval <= 0)
      ctx.addIssue({ code: "custom", path: ["initialInterval"], message: "must be greater than zero" });
    if (r.initialInterval !== undefined && r.maxInterval !== undefined && r.maxInterval < r.initialInterval)
      ctx.addIssue({ code: "custom", path: ["maxInterval"], message: "must be >= initialInterval" });
  });

export const UNIQUE_KEY_PARTS = ["type", "queue", "args", "meta"] as const;
const uniquePolicyShape = {
  keys: z.array(z.enum(UNIQUE_KEY_PARTS, { error: `must be one of ${UNIQUE_KEY_PARTS.join(", ")}` })).optional(),
  argsKeys: z.array(z.string()).optional(),
  metaKeys: z.array(z.string()).optional(),
  period: durationSchema.optional(),
  onConflict: z
    .enum(["reject", "replace", "ignore", "replace_except_schedule"], {
      error: 'must be "reject", "replace", "ignore" or "replace_except_schedule"',
    })
    .optional(),
  states: z.array(jobStateSchema).optional(),
};

export const uniquePolicySchema = z.object(uniquePolicyShape, { error: objectError(uniquePolicyShape) }).strict();

const enqueueOptionsShape = {
  id: z
    .string()
    .regex(UUIDV7_RE, { error: "must be a lowercase UUIDv7 like 019461a8-1a2b-7c3d-8e4f-5a6b7c8d9e0f (a UUIDv4 or upper-case hex is refused)" })
    .optional(),
  queue: queueNameSchema.optional(),
  priority: z
    .number({ error: `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}` })
    .int({ error: `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}` })
    .min(MIN_PRIORITY, { error: `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}` })
    .max(MAX_PRIORITY, { error: `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}` })
    .optional(),
  timeout: durationSchema.optional(),
  delay: durationSchema.optional(),
  scheduledAt: instantSchema.optional(),
  expiresAt: instantSchema.optional(),
  retry: retryPolicySchema.optional(),
  unique: uniquePolicySchema.optional(),
  tags: z.array(z.string({ error: "must be strings" }), { error: "must be an array of strings" }).optional(),
  meta: jsonObjectSchema.optional(),
  visibilityTimeout: durationSchema.optional(),
  schema: z.string().min(1).optional(),
  rateLimit: rateLimitSchema.optional(),
  keepFor: z
    .object(
      { completed: durationSchema.optional(), discarded: durationSchema.optional() },
      { error: "must be an object with completed and/or discarded durations" },
    )
    .strict()
    .optional(),
};

export const enqueueOptionsSchema = z
  .object(enqueueOptionsShape, { error: objectError(enqueueOptionsShape) })
  .strict()
  .superRefine((o, ctx) => {
    if (o.delay !== undefined && o.scheduledAt !== undefined) ctx.addIssue({ code: "custom", path: ["delay"], message: "cannot be combined with scheduledAt" });
    if (o.timeout !== undefined && o.timeout <= 0) ctx.addIssue({ code: "custom", path: ["timeout"], message: "must be greater than zero" });
    if (o.visibilityTimeout !== undefined && o.visibilityTimeout <= 0)
      ctx.addIssue({ code: "custom", path: ["visibilityTimeout"], message: "must be greater than zero" });
  });

export const jobRequestSchema = z.object({
  type: jobTypeSchema,
  args: argsSchema,
  options: enqueueOptionsSchema.optional(),
});

/** Renders zod issues as "field: rule" lines and throws one ValidationError. */
export function validationErrorFrom(error: z.ZodError, prefix: string, operation?: string): ValidationError {
  const issues = error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join(".") || "value";
    return { path, message: i.message };
  });
  const message = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  return new ValidationError(message, { issues, ...(operation ? { operation } : {}) });
}

/** Parses with a schema or throws a ValidationError naming the field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix: string, operation?: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw validationErrorFrom(r.error, prefix, operation);
  return r.data;
}

/**
 * Validates what a user passed to enqueue and normalises it (durations to ms,
 * times to Date, delay folded into scheduledAt). Throws ValidationError.
 */
export function normalizeJobRequest(req: JobRequest, now = Date.now(), operation = "enqueue"): NormalizedJobRequest {
  return fastNormalize(req) ?? validateJobRequest(req, now, operation);
}

/** normalizeJobRequest without the shortcut: the full zod validation, and the errors' wording. */
export function validateJobRequest(req: JobRequest, now = Date.now(), operation = "enqueue"): NormalizedJobRequest {
  const type = parseOrThrow(jobTypeSchema, req.type, "type", operation);
  const args = parseOrThrow(argsSchema, req.args, "args", operation);
  const o = parseOrThrow(enqueueOptionsSchema, req.options ?? {}, "options", operation) as ParsedOptions;
  const out: NormalizedJobRequest = { type, args };
  if (o.id !== undefined) out.id = o.id;
  if (o.queue !== undefined) out.queue = o.queue;
  if (o.priority !== undefined) out.priority = o.priority;
  if (o.timeout !== undefined) out.timeout = o.timeout;
  if (o.delay !== undefined) out.scheduledAt = new Date(now + o.delay);
  if (o.scheduledAt !== undefined) out.scheduledAt = o.scheduledAt;
  if (o.expiresAt !== undefined) out.expiresAt = o.expiresAt;
  if (o.retry !== undefined) out.retry = stripUndefined(o.retry);
  if (o.unique !== undefined) out.unique = stripUndefined(o.unique);
  if (o.tags !== undefined) out.tags = o.tags;
  // An empty meta says nothing (servers default it to {}): leave it out so every encoding agrees.
  if (o.meta !== undefined && Object.keys(o.meta).length > 0) out.meta = o.meta;
  // keepFor travels in meta, so that both bindings carry it unchanged (see KEEP_FOR_META).
  if (o.keepFor !== undefined && (o.keepFor.completed !== undefined || o.keepFor.discarded !== undefined)) {
    const k: JsonObject = {};
    if (o.keepFor.completed !== undefined) k.completed_ms = o.keepFor.completed;
    if (o.keepFor.discarded !== undefined) k.discarded_ms = o.keepFor.discarded;
    out.meta = { ...(out.meta ?? {}), [KEEP_FOR_META]: k };
  }
  if (o.visibilityTimeout !== undefined) out.visibilityTimeout = o.visibilityTimeout;
  if (o.schema !== undefined) out.schema = o.schema;
  if (o.rateLimit !== undefined) out.rateLimit = stripRateLimit(o.rateLimit);
  return out;
}

type ParsedOptions = z.output<typeof enqueueOptionsSchema>;

function stripUndefined<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export type { EnqueueOptions };
