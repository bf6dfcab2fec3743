/**
 * Matching jobs against what a test expects, and failure messages that say
 * what was there instead: every job of the expected type with the reasons it
 * did not match, then the other jobs.
 */
import { AssertionError } from "node:assert";
import { isDeepStrictEqual } from "node:util";
import type { JsonObject, JsonValue } from "../model/json.js";

/** What a job must have; every field given must match. */
export interface JobMatch {
  /** Deep equality with the job's args. */
  args?: JsonValue[];
  queue?: string;
  /** Each key given must be in the job's meta with an equal value; other keys are ignored. */
  meta?: JsonObject;
}

export interface JobExpectation extends JobMatch {
  /** Exactly this many matching jobs; default: at least one. */
  count?: number;
}

/** The fields of a job that assertions read; `state` may be any label (a run's outcome, for instance). */
export interface JobView {
  id: string;
  type: string;
  args: JsonValue[];
  queue: string;
  meta: JsonObject;
  state: string;
}

/** Why `job` does not match; empty when it does. */
export function mismatches(job: Omit<JobView, "id" | "state">, type: string, m: JobMatch): string[] {
  if (job.type !== type) return [`type is ${q(job.type)}`];
  const out: string[] = [];
  if (m.args !== undefined && !isDeepStrictEqual(job.args, m.args)) out.push(`args are ${json(job.args)}, not ${json(m.args)}`);
  if (m.queue !== undefined && job.queue !== m.queue) out.push(`queue is ${q(job.queue)}, not ${q(m.queue)}`);
  if (m.meta !== undefined) {
    for (const [k, v] of Object.entries(m.meta)) {
      if (!(k in job.meta)) out.push(`meta has no ${q(k)}`);
      else if (!isDeepStrictEqual(job.meta[k], v)) out.push(`meta.${k} is ${json(job.meta[k] ?? null)}, not ${json(v)}`);
    }
  }
  return out;
}

/** `"email.send" job with args [...] on queue "mail" and meta {...}` */
export function describeExpectation(type: string, m: JobMatch, plural = false): string {
  let s = `${q(type)} job${plural ? "s" : ""}`;
  if (m.args !== undefined) s += ` with args ${json(m.args)}`;
  if (m.queue !== undefined) s += ` on queue ${q(m.queue)}`;
  if (m.meta !== undefined) s += `${m.args !== undefined ? " and" : " with"} meta ${json(m.meta)}`;
  return s;
}

/** One line per job: type, args, queue, meta, state, id. */
export function describeJob(job: JobView): string {
  const meta = Object.keys(job.meta).length ? ` meta ${json(job.meta)}` : "";
  return `${job.type} ${json(job.args)} on ${q(job.queue)}${meta} [${job.state}, ${job.id}]`;
}

const MAX_LISTED = 20;

/**
 * The inventory part of a failure message: jobs of the expected type, each
 * with why it did not match, then jobs of other types.
 */
export function inventory(noun: string, jobs: readonly JobView[], type: string, why: (j: JobView) => string[]): string {
  if (jobs.length === 0) return `No job was ${noun}.`;
  const sameType = jobs.filter((j) => j.type === type);
  const others = jobs.filter((j) => j.type !== type);
  const parts: string[] = [];
  if (sameType.length) {
    parts.push(`${q(type)} jobs ${noun} (${sameType.length}):`);
    for (const j of sameType.slice(0, MAX_LISTED)) {
      const reasons = why(j);
      parts.push(`  - ${describeJob(j)}${reasons.length ? `: ${reasons.join("; ")}` : ": matches"}`);
    }
    if (sameType.length > MAX_LISTED) parts.push(`  ... and ${sameType.length - MAX_LISTED} more`);
  } else {
    parts.push(`No ${q(type)} job was ${noun}.`);
  }
  if (others.length) {
    parts.push(`Other jobs ${noun} (${others.length}):`);
    for (const j of others.slice(0, MAX_LISTED)) parts.push(`  - ${describeJob(j)}`);
    if (others.length > MAX_LISTED) parts.push(`  ... and ${others.length - MAX_LISTED} more`);
  }
  return parts.join("\n");
}

/** Just the listed jobs, one a line. */
export function listing(jobs: readonly JobView[]): string {
  const lines = jobs.slice(0, MAX_LISTED).map((j) => `  - ${describeJob(j)}`);
  if (jobs.length > MAX_LISTED) lines.push(`  ... and ${jobs.length - MAX_LISTED} more`);
  return lines.join("\n");
}

export function fail(
  message: string,
  stackStartFn: (...args: never[]) => unknown,
  details?: { actual?: unknown; expected?: unknown; operator?: string },
): never {
  throw new AssertionError({ message, stackStartFn, operator: details?.operator ?? "fail", actual: details?.actual, expected: details?.expected });
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function q(s: string): string {
  return JSON.stringify(s);
}

export function json(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 197)}...` : s;
  } catch {
    return String(v);
  }
}
