/**
 * The rules a job's type, queue name and priority follow, as plain values:
 * both the zod schemas (schemas.ts) and the shortcut past them
 * (fast-normalize.ts) read them, so they live apart from either.
 */

/** A job type: lowercase dot-separated words like "email.send". */
export const JOB_TYPE_RE = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
/** A queue name: lowercase letters, digits, "-" and ".", starting with a letter or digit. */
export const QUEUE_RE = /^[a-z0-9][a-z0-9\-.]*$/;
/** The lowest priority a job may have. */
export const MIN_PRIORITY = -100;
/** The highest priority a job may have. */
export const MAX_PRIORITY = 100;
