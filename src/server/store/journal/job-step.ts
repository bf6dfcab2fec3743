/**
 * The job step record (format 3): what a job's claim, ack, nack, lease
 * extension or any later change made of it, without what it was created
 * with. A drained job is written three times (its enqueue, its claim, its
 * ack); the last two are steps, which carry no type, queue, args, meta or tags
 * (no JSON.stringify of the args, no rest objects for a plain job) and are
 * about half the bytes of a whole record.
 *
 *   u8 JOB_STEP | u8 state | u16 flags | f64 attempt | f64 leaseDeadline | str id
 *   [f64 startedAt] [f64 completedAt]   ms; when these are the job's only other fields (else they go in the job rest)
 *   [str workerId]                      when set (and well-formed UTF-16; else in the record rest)
 *   [str errors (JSON)]                 unless empty
 *   [str job rest (JSON)]               the job's other fields (scheduledAt, result, ...; dates in ms), as job-record.ts
 *   [str record rest (JSON)]            progress, or a workerId UTF-8 cannot carry
 *
 * A step changes the job recorded last under its id: the fields a job is
 * created with and the store never changes afterwards (its IDENTITY: type,
 * queue, args, meta, tags, priority, maxAttempts, the retry policy, createdAt,
 * enqueuedAt, specversion; and of the record extra, uniqueKey, workflowStep,
 * directiveOnClaim) are taken from that record, everything else from the
 * step. So the writer (journal.ts) writes a step only for a job whose whole
 * record is already in the same file: never for a job created since the last
 * write (its first record is whole), and only into a file whose header says
 * format 3 or later (an older server refuses such a file at start instead of
 * reading a step as a corrupt record and cutting the journal there).
 */
import { JOB_STATES, type Job, type JobError, type JobState } from "../../../model/job.js";
import type { RestoredJob } from "../changes.js";
import { Cursor, type ScratchWriter } from "./binary.js";
import { restJson } from "./rest-json.js";
import { NO_ERRORS, reviveErrors, reviveProgress, reviveRest } from "./revive.js";

/** First payload byte of a job step record (JOB_BINARY is 0x01; JSON records start with "{"). */
export const JOB_STEP = 0x02;

const DEAD_LETTER = 1 << 0;
const STARTED = 1 << 1;
const COMPLETED = 1 << 2;
const WORKER = 1 << 3;
const ERRORS = 1 << 4;
const JOB_REST = 1 << 5;
const REC_REST = 1 << 6;

const STATE_NUMBER = new Map<string, number>(JOB_STATES.map((s, i) => [s, i]));

/**
 * Whether the job's field `k` is one a step does not carry as "other fields":
 * its identity (set when the job is made, never changed by the store; taken
 * from the job's earlier record) or the step's fixed part (state, attempt,
 * errors). A switch over the names, not a look-up in an object of them: the
 * look-up with a different key each time went through V8's megamorphic
 * keyed-load cache, about a third of a step's cost.
 */
function notInRest(k: string): boolean {
  switch (k) {
    case "id":
    case "type":
    case "queue":
    case "args":
    case "meta":
    case "priority":
    case "maxAttempts":
    case "retry":
    case "createdAt":
    case "enqueuedAt":
    case "tags":
    case "specversion":
    case "state":
    case "attempt":
    case "errors":
      return true;
    default:
      return false;
  }
}
const REST_DATE: Record<string, true> = { scheduledAt: true, startedAt: true, completedAt: true, cancelledAt: true, expiresAt: true };

const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Whether the job's fields beyond its identity and the step's fixed part are
 * at most startedAt and completedAt, as Dates and in that order (a claimed or
 * acked plain job): they then go as two numbers, with no JSON at all.
 */
function onlyDates(j: Record<string, unknown>): boolean {
  let completed = false;
  for (const k in j) {
    if (notInRest(k)) continue;
    const v = j[k];
    if (v === undefined) continue;
    if (k === "startedAt" && v instanceof Date && !completed) continue;
    if (k === "completedAt" && v instanceof Date) completed = true;
    else return false;
  }
  return true;
}

/** The job's fields beyond its identity and the step's fixed part, in their order (dates as ms, as job-record.ts). */
function stepRest(j: Record<string, unknown>): Record<string, unknown> | undefined {
  let rest: Record<string, unknown> | undefined;
  for (const k in j) {
    if (notInRest(k)) continue;
    const v = j[k];
    if (v === undefined) continue;
    (rest ??= {})[k] = v instanceof Date && REST_DATE[k] === true ? v.getTime() : v;
  }
  return rest;
}

/**
 * Writes the framed step of a job as it is now into `w`; false (and nothing
 * written) when the job's changing part has a shape the step cannot carry
 * exactly (the caller then writes a whole record, binary or JSON).
 */
export function writeJobStep(w: ScratchWriter, rec: RestoredJob): boolean {
  const j = rec.job;
  const state = STATE_NUMBER.get(j.state);
  if (
    state === undefined ||
    j.id !== rec.id ||
    typeof rec.id !== "string" ||
    !wellFormed(rec.id) ||
    typeof j.attempt !== "number" ||
    typeof rec.leaseDeadline !== "number" ||
    typeof rec.deadLetter !== "boolean" ||
    !Array.isArray(j.errors)
  )
    return false;
  const fields = j as unknown as Record<string, unknown>;
  const dates = onlyDates(fields);
  const started = dates && j.startedAt !== undefined;
  const completed = dates && j.completedAt !== undefined;
  const rest = dates ? undefined : stepRest(fields);
  const worker = rec.workerId;
  const workerField = typeof worker === "string" && wellFormed(worker);
  const recRest =
    rec.progress !== undefined || (worker !== undefined && !workerField) ? { workerId: workerField ? undefined : worker, progress: rec.progress } : undefined;
  let flags = 0;
  if (rec.deadLetter) flags |= DEAD_LETTER;
  if (started) flags |= STARTED;
  if (completed) flags |= COMPLETED;
  if (workerField) flags |= WORKER;
  if (j.errors.length) flags |= ERRORS;
  if (rest) flags |= JOB_REST;
  if (recRest) flags |= REC_REST;
  w.begin();
  w.u8(JOB_STEP);
  w.u8(state);
  w.u16(flags);
  w.f64(j.attempt);
  w.f64(rec.leaseDeadline);
  w.str(rec.id);
  if (started) w.f64(j.startedAt!.getTime());
  if (completed) w.f64(j.completedAt!.getTime());
  if (workerField) w.str(worker);
  if (j.errors.length) w.str(JSON.stringify(j.errors));
  if (rest) w.str(restJson(rest));
  if (recRest) w.str(restJson(recRest));
  w.end();
  return true;
}

// --- reading ----------------------------------------------------------------------

/**
 * Reads step records and applies each to the job recorded before it. The
 * RestoredJob it returns is reused by the next read (as JobRecordReader's).
 */
export class JobStepReader {
  private readonly cursor = new Cursor();
  private readonly out = {} as { -readonly [K in keyof RestoredJob]: RestoredJob[K] };

  /**
   * The job of `base` (looked up by the step's id; undefined when the file
   * holds no earlier record of it) as the step buf[start, end) leaves it.
   * Throws when the record cannot be read.
   */
  read(buf: Buffer, start: number, end: number, base: (id: string) => RestoredJob | undefined): { id: string; job: RestoredJob | undefined } {
    const c = this.cursor.at(buf, start + 1, end);
    const state = JOB_STATES[c.u8()] as JobState | undefined;
    if (state === undefined) throw new RangeError("an unknown job state");
    const flags = c.u16();
    const attempt = c.num();
    const leaseDeadline = c.num();
    const id = c.str();
    const startedAt = flags & STARTED ? new Date(c.f64()) : undefined;
    const completedAt = flags & COMPLETED ? new Date(c.f64()) : undefined;
    let workerId = flags & WORKER ? c.str() : undefined;
    // No errors: the one shared frozen empty list (revive.ts), as a job's first record gives.
    const errors = flags & ERRORS ? reviveErrors(c.json() as JobError[]) : NO_ERRORS;
    const rest = flags & JOB_REST ? (c.json() as Record<string, unknown>) : undefined;
    let progress: RestoredJob["progress"];
    if (flags & REC_REST) {
      const r = c.json() as Partial<RestoredJob>;
      if (r.workerId !== undefined) workerId = r.workerId;
      progress = reviveProgress(r.progress);
    }
    if (!c.done()) throw new RangeError("bytes left over after a job step record");
    const b = base(id);
    if (!b) return { id, job: undefined };
    const was = b.job;
    // In newJob()'s field order (as JobRecordReader), the identity from the job's earlier record.
    const job: Job = {
      id,
      type: was.type,
      queue: was.queue,
      args: was.args,
      meta: was.meta,
      state,
      priority: was.priority,
      attempt,
      maxAttempts: was.maxAttempts,
      retry: was.retry,
      errors,
      createdAt: was.createdAt,
      enqueuedAt: was.enqueuedAt,
      tags: was.tags,
      specversion: was.specversion,
    };
    if (startedAt) job.startedAt = startedAt;
    if (completedAt) job.completedAt = completedAt;
    if (rest) reviveRest(job, rest);
    const out = this.out;
    out.id = id;
    out.job = job;
    out.extra = b.extra;
    out.retry = b.retry;
    out.leaseDeadline = leaseDeadline;
    out.workerId = workerId;
    out.uniqueKey = b.uniqueKey;
    out.deadLetter = (flags & DEAD_LETTER) !== 0;
    out.progress = progress;
    out.directiveOnClaim = b.directiveOnClaim;
    out.workflowStep = b.workflowStep;
    return { id, job: out };
  }
}
