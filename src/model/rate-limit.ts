/**
 * The `rateLimit` enqueue option of the rate-limiting extension
 * (ojs-rate-limiting.md §6): the key whose limits a job shares with every job
 * of the same key, and the limits. One shape for the Client, the codecs and the
 * embedded server; validated here (zod), so a bad policy is refused by field
 * name before anything is sent, and again by the server.
 */
import { z } from "zod";
import { toMillis, type Duration } from "./duration.js";

/** RL §6.2: letters, digits and . _ : - , starting with a letter or digit. */
export const RATE_LIMIT_KEY_RE = /^[a-zA-Z0-9][a-zA-Z0-9._:-]*$/;
export const MAX_RATE_LIMIT = 100_000;

/** What the server does with a job whose rate-limit key is at its limit: "wait" (stay available until a slot frees; the only one this server offers), "reschedule" or "drop". */
export type OnLimit = "wait" | "reschedule" | "drop";

/** What a producer passes as `options.rateLimit`. */
export interface RateLimitInput {
  /** The partition: jobs with the same key share the limits ("api.stripe.com", "tenant:acme"). */
  key: string;
  /** At most this many jobs of the key active at once; 0 pauses the key. */
  concurrency?: number;
  /** At most `limit` jobs of the key start within any `period` (sliding window). */
  rate?: { limit: number; period: Duration };
  /** Starts spaced evenly: at most `limit` per `period`, period/limit apart. */
  throttle?: { limit: number; period: Duration };
  /**
   * At the limit: "wait" (default; the job stays available), "reschedule" or
   * "drop". The embedded server offers "wait" only and refuses the others.
   */
  onLimit?: OnLimit;
}

/** The validated policy: the input with its periods in milliseconds (still a valid input). */
export interface RateLimitPolicy extends Omit<RateLimitInput, "rate" | "throttle"> {
  rate?: { limit: number; period: number };
  throttle?: { limit: number; period: number };
}

const periodSchema = z.union([z.number(), z.string()], { error: 'must be milliseconds (number) or an ISO 8601 duration like "PT1M"' }).transform((d, ctx) => {
  const ms = toMillis(d as Duration);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: "custom", message: 'must be a duration greater than zero: milliseconds or ISO 8601 like "PT1M"' });
    return z.NEVER;
  }
  return ms;
});

const countSchema = (min: number) =>
  z
    .number({ error: `must be a whole number from ${min} to ${MAX_RATE_LIMIT}` })
    .int({ error: `must be a whole number from ${min} to ${MAX_RATE_LIMIT}` })
    .min(min, { error: `must be a whole number from ${min} to ${MAX_RATE_LIMIT}` })
    .max(MAX_RATE_LIMIT, { error: `must be a whole number from ${min} to ${MAX_RATE_LIMIT}` });

const windowSchema = z.object({ limit: countSchema(1), period: periodSchema }, { error: "must be an object {limit, period}" }).strict();

export const rateLimitSchema = z
  .object(
    {
      key: z
        .string({ error: "must be a string" })
        .max(255, { error: "must be at most 255 characters" })
        .regex(RATE_LIMIT_KEY_RE, { error: "must be letters, digits and . _ : - starting with a letter or digit" }),
      concurrency: countSchema(0).optional(),
      rate: windowSchema.optional(),
      throttle: windowSchema.optional(),
      onLimit: z.enum(["wait", "reschedule", "drop"], { error: 'must be "wait", "reschedule" or "drop"' }).optional(),
    },
    { error: "must be an object {key, concurrency, rate, throttle, onLimit}" },
  )
  .strict()
  .superRefine((o, ctx) => {
    if (o.concurrency === undefined && !o.rate && !o.throttle) ctx.addIssue({ code: "custom", message: "names no limit: give concurrency, rate or throttle" });
  });

export function stripRateLimit(o: z.output<typeof rateLimitSchema>): RateLimitPolicy {
  const p: RateLimitPolicy = { key: o.key };
  if (o.concurrency !== undefined) p.concurrency = o.concurrency;
  if (o.rate) p.rate = { limit: o.rate.limit, period: o.rate.period };
  if (o.throttle) p.throttle = { limit: o.throttle.limit, period: o.throttle.period };
  if (o.onLimit !== undefined) p.onLimit = o.onLimit;
  return p;
}
