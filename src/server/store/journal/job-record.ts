/**
 * The binary job record (format 2): the record a journal holds most of, made
 * cheap to write and to read back on a start-up of a million jobs. Its payload
 * starts with the byte JOB_BINARY, which no JSON record starts with (those
 * start with "{"), so one file can hold both and a journal written by format 1
 * (JSON job records) still replays.
 *
 *   u8 JOB_BINARY | u8 state | u16 flags
 *   f64 priority | f64 attempt | f64 maxAttempts | f64 createdAt | f64 enqueuedAt (ms, unless ENQ_SAME) | f64 leaseDeadline
 *   str id | str type | str queue | str specversion | str args (JSON)
 *   [str meta (JSON)] [str tags (JSON)] [str errors (JSON)]   each unless its EMPTY flag says [] or {}
 *   [str job rest (JSON)]   the job's other fields (scheduledAt, result, unique, ...), when it has any;
 *                           its dates in ms (ISO strings before: both read back)
 *   [str record rest (JSON)]  extra, a non-default retry, workerId, uniqueKey, progress, directiveOnClaim, workflowStep
 *
 * Why not the job's ojs.v1 protobuf bytes (src/codec/wire): proto3 reads a zero
 * as "absent" and args travel as google.protobuf.Value trees, so the bytes
 * would neither give back exactly the job that was written nor decode faster
 * than JSON.parse of the args. Here user data stays JSON (exact, as format 1),
 * and only the fields every job has are fixed-width or interned.
 *
 * A job without the shape every store-made job has (a Date createdAt, numeric
 * counters, ...) is written as a JSON record instead: exactness first.
 */
import { JOB_STATES, type Job, type JobError, type JobState } from "../../../model/job.js";
import type { JsonObject } from "../../../model/json.js";
import type { RestoredJob } from "../changes.js";
import { DEFAULT_EFFECTIVE_RETRY, DEFAULT_SHOWN_RETRY } from "../store.js";
import { Cursor, Interner, ScratchWriter } from "./binary.js";
import { restJson } from "./rest-json.js";
import { NO_ERRORS, NO_META, NO_TAGS, REST_DATES, reviveErrors, reviveProgress, reviveRest } from "./revive.js";

/** First payload byte of a binary job record (JSON records start with "{", 0x7b). */
export const JOB_BINARY = 0x01;

const DEAD_LETTER = 1 << 0;
const DEFAULT_RETRY = 1 << 1;
const ENQ_SAME = 1 << 2;
const META_EMPTY = 1 << 3;
const TAGS_EMPTY = 1 << 4;
const ERRORS_EMPTY = 1 << 5;
const JOB_REST = 1 << 6;
const REC_REST = 1 << 7;

const STATE_NUMBER = new Map<string, number>(JOB_STATES.map((s, i) => [s, i]));

/** The job fields the fixed part carries; every other own field goes in the job rest. */
const FIXED = new Set([
  "id",
  "type",
  "queue",
  "args",
  "meta",
  "state",
  "priority",
  "attempt",
  "maxAttempts",
  "errors",
  "createdAt",
  "enqueuedAt",
  "tags",
  "specversion",
]);

function isEmptyObject(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

const REST_DATE = new Set<string>(REST_DATES);

/**
 * The job's fields that are neither fixed nor the default retry, or undefined
 * when there are none. Its dates go as milliseconds: reviveRest turns them
 * back by name, from a number as from the ISO string format 2 started with
 * (the same instant, and several times cheaper to write than toISOString).
 */
function jobRest(job: Job, defaultRetry: boolean): Record<string, unknown> | undefined {
  let rest: Record<string, unknown> | undefined;
  const j = job as unknown as Record<string, unknown>;
  for (const k in j) {
    if (FIXED.has(k) || (k === "retry" && defaultRetry)) continue;
    const v = j[k];
    if (v === undefined) continue;
    (rest ??= {})[k] = v instanceof Date && REST_DATE.has(k) ? v.getTime() : v;
  }
  return rest;
}

function recordRest(rec: RestoredJob, defaultRetry: boolean): Record<string, unknown> | undefined {
  if (
    rec.extra === undefined &&
    defaultRetry &&
    rec.workerId === undefined &&
    rec.uniqueKey === undefined &&
    rec.progress === undefined &&
    rec.directiveOnClaim === undefined &&
    rec.workflowStep === undefined
  )
    return undefined;
  return {
    extra: rec.extra,
    retry: defaultRetry ? undefined : rec.retry,
    workerId: rec.workerId,
    uniqueKey: rec.uniqueKey,
    progress: rec.progress,
    directiveOnClaim: rec.directiveOnClaim,
    workflowStep: rec.workflowStep,
  };
}

/**
 * A string UTF-8 can carry as it is: one with a lone surrogate would come back
 * as U+FFFD (JSON escapes it instead, so such a job goes as JSON).
 */
const utf8Exact = (s: unknown): boolean => typeof s === "string" && (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Whether the job has the shape the fixed part can carry exactly. */
function fits(rec: RestoredJob): boolean {
  const j = rec.job;
  return (
    j.id === rec.id &&
    utf8Exact(j.id) &&
    utf8Exact(j.type) &&
    utf8Exact(j.queue) &&
    utf8Exact(j.specversion) &&
    STATE_NUMBER.has(j.state) &&
    typeof j.priority === "number" &&
    typeof j.attempt === "number" &&
    typeof j.maxAttempts === "number" &&
    j.createdAt instanceof Date &&
    j.enqueuedAt instanceof Date &&
    Array.isArray(j.args) &&
    Array.isArray(j.tags) &&
    Array.isArray(j.errors) &&
    typeof j.meta === "object" &&
    j.meta !== null &&
    typeof rec.leaseDeadline === "number" &&
    typeof rec.deadLetter === "boolean"
  );
}

/**
 * Writes the framed binary record of a job as it is now into `w`; false (and
 * nothing written) when the job must be written as JSON instead (see fits).
 */
export function writeJobBinary(w: ScratchWriter, rec: RestoredJob): boolean {
  if (!fits(rec)) return false;
  const j = rec.job;
  const defaultRetry = rec.retry === DEFAULT_EFFECTIVE_RETRY;
  const created = j.createdAt!.getTime();
  const enqueued = j.enqueuedAt!.getTime();
  const metaEmpty = isEmptyObject(j.meta);
  const rest = jobRest(j, defaultRetry);
  const recRest = recordRest(rec, defaultRetry);
  let flags = 0;
  if (rec.deadLetter) flags |= DEAD_LETTER;
  if (defaultRetry) flags |= DEFAULT_RETRY;
  if (enqueued === created) flags |= ENQ_SAME;
  if (metaEmpty) flags |= META_EMPTY;
  if (j.tags.length === 0) flags |= TAGS_EMPTY;
  if (j.errors.length === 0) flags |= ERRORS_EMPTY;
  if (rest) flags |= JOB_REST;
  if (recRest) flags |= REC_REST;
  w.begin();
  w.u8(JOB_BINARY);
  w.u8(STATE_NUMBER.get(j.state)!);
  w.u16(flags);
  w.f64(j.priority);
  w.f64(j.attempt);
  w.f64(j.maxAttempts!);
  w.f64(created);
  if (enqueued !== created) w.f64(enqueued);
  w.f64(rec.leaseDeadline);
  w.str(j.id);
  w.str(j.type);
  w.str(j.queue);
  w.str(j.specversion);
  w.str(JSON.stringify(j.args));
  if (!metaEmpty) w.str(JSON.stringify(j.meta));
  if (j.tags.length) w.str(JSON.stringify(j.tags));
  if (j.errors.length) w.str(JSON.stringify(j.errors));
  if (rest) w.str(restJson(rest));
  if (recRest) w.str(restJson(recRest));
  w.end();
  return true;
}

// --- reading ----------------------------------------------------------------------

/**
 * Reads binary job records. One per replay: its interners keep the strings
 * that repeat (types, queues) across the file's records. The job it returns is
 * the caller's to keep; the RestoredJob around it is reused by the next read
 * (Store.restoredRecord copies its fields into the job's record).
 */
export class JobRecordReader {
  private readonly cursor = new Cursor();
  private readonly types = new Interner();
  private readonly queues = new Interner();
  private readonly versions = new Interner(4);
  /**
   * The creation time read last, and its Date: jobs enqueued in the same
   * millisecond (a batch) share one, as createdAt and enqueuedAt of one job do.
   * A Date is about 100 bytes and one more object for the collector to move,
   * per job of a start-up; the store never changes a Date in place (it
   * assigns new ones), so the sharing cannot be seen.
   */
  private lastCreated = NaN;
  private lastDate = new Date(NaN);
  private readonly out: { -readonly [K in keyof RestoredJob]: RestoredJob[K] } = {
    id: "",
    job: undefined as unknown as Job,
    extra: undefined,
    retry: DEFAULT_EFFECTIVE_RETRY,
    leaseDeadline: 0,
    workerId: undefined,
    uniqueKey: undefined,
    deadLetter: false,
    progress: undefined,
    directiveOnClaim: undefined,
    workflowStep: undefined,
  };

  /** The job of the record buf[start, end) (its first byte JOB_BINARY); throws when the record cannot be read. */
  read(buf: Buffer, start: number, end: number): RestoredJob {
    const c = this.cursor.at(buf, start + 1, end);
    const state = JOB_STATES[c.u8()] as JobState | undefined;
    if (state === undefined) throw new RangeError("an unknown job state");
    const flags = c.u16();
    const priority = c.num();
    const attempt = c.num();
    const maxAttempts = c.num();
    const created = c.f64();
    const createdAt = Object.is(created, this.lastCreated) ? this.lastDate : (this.lastDate = new Date((this.lastCreated = created)));
    const enqueuedAt = flags & ENQ_SAME ? createdAt : new Date(c.f64());
    const leaseDeadline = c.num();
    const id = c.str();
    const type = this.types.read(c);
    const queue = this.queues.read(c);
    const specversion = this.versions.read(c);
    const args = c.json() as Job["args"];
    const meta = flags & META_EMPTY ? NO_META : (c.json() as JsonObject);
    const tags = flags & TAGS_EMPTY ? NO_TAGS : (c.json() as string[]);
    const errors = flags & ERRORS_EMPTY ? NO_ERRORS : reviveErrors(c.json() as JobError[]);
    // In newJob()'s field order, so that restored jobs share live jobs' shape.
    const job: Job = {
      id,
      type,
      queue,
      args,
      meta,
      state,
      priority,
      attempt,
      maxAttempts,
      retry: flags & DEFAULT_RETRY ? DEFAULT_SHOWN_RETRY : undefined,
      errors,
      createdAt,
      enqueuedAt,
      tags,
      specversion,
    };
    if (flags & JOB_REST) reviveRest(job, c.json() as Record<string, unknown>);
    const out = this.out;
    out.id = id;
    out.job = job;
    out.leaseDeadline = leaseDeadline;
    out.deadLetter = (flags & DEAD_LETTER) !== 0;
    if (flags & REC_REST) {
      const r = c.json() as Partial<RestoredJob>;
      out.extra = r.extra;
      out.retry = r.retry ?? DEFAULT_EFFECTIVE_RETRY;
      out.workerId = r.workerId;
      out.uniqueKey = r.uniqueKey;
      out.progress = reviveProgress(r.progress);
      out.directiveOnClaim = r.directiveOnClaim;
      out.workflowStep = r.workflowStep;
    } else {
      out.extra = undefined;
      out.retry = DEFAULT_EFFECTIVE_RETRY;
      out.workerId = undefined;
      out.uniqueKey = undefined;
      out.progress = undefined;
      out.directiveOnClaim = undefined;
      out.workflowStep = undefined;
    }
    if (!c.done()) throw new RangeError("bytes left over after a job record");
    return out;
  }
}
