/**
 * The journal's record format. A file is a sequence of records:
 *
 *   u32 LE payload length | u32 LE CRC-32 of the payload | payload
 *
 * A payload is UTF-8 JSON ({"k": kind, ...}), or, for a job, the binary job
 * record of job-record.ts (its first byte 0x01, never "{") or a step of a job
 * recorded before (job-step.ts, 0x02); format 1 journals hold JSON job
 * records, which still replay. The first record of every file is
 * a header ({"k":"hdr","v":2,...}). Each record holds the full current state of
 * one thing (a job, a queue's settings, a workflow, a cron schedule, a schema
 * version) or says it is gone; replay keeps the last record of each thing.
 * Dates are written as ISO strings (binary job records: milliseconds) and
 * turned back into Dates here, field by field (never by guessing from values,
 * which would change a user's args).
 */
import type { Job, JobError, NormalizedJobRequest } from "../../../model/job.js";
import type { JsonObject } from "../../../model/json.js";
import type { RestoredJob } from "../changes.js";
import type { CheckpointRecord } from "../checkpoints.js";
import type { CronRecord } from "../cron.js";
import type { Backpressure } from "../queue.js";
import type { QueueRetention } from "../retention.js";
import type { SchemaRecord } from "../schemas.js";
import { DEFAULT_EFFECTIVE_RETRY, DEFAULT_SHOWN_RETRY } from "../store.js";
import type { WorkflowRecord } from "../workflows.js";
import type { TenantLimitConfig } from "../../tenancy/limits.js";
import type { Delivery } from "../../webhooks/deliveries.js";
import type { WebhookSubscription } from "../../webhooks/subscriptions.js";
import { crc32, crc32Range } from "./crc32.js";
import { ScratchWriter } from "./binary.js";
import { JobRecordReader, JOB_BINARY, writeJobBinary } from "./job-record.js";
import { JobStepReader, JOB_STEP, writeJobStep } from "./job-step.js";

/**
 * 2: job records may be binary (job-record.ts); 3: a job's later records may be
 * steps (job-step.ts). Older journals replay as they are; steps are written
 * only into a file whose header says 3 or later (STEPS_FROM).
 */
export const FORMAT_VERSION = 3;
export const STEPS_FROM = 3;
export const HEADER_BYTES = 8;
/** A record longer than this is treated as corruption (a job is capped far below it by the request limits). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export type SavedCron = Omit<CronRecord, "schedule">;
/** A job as recorded: the retry policy is absent when it is the default one. */
export type SavedJob = Omit<RestoredJob, "retry"> & { retry?: RestoredJob["retry"] };
export type SavedWorkflow = Omit<WorkflowRecord, "steps"> & { steps: Array<WorkflowRecord["steps"] extends Map<string, infer S> ? S : never> };

export type JournalRecord =
  | { k: "hdr"; v: number; gen: number; at: string }
  | { k: "job"; r: SavedJob }
  | { k: "job-"; id: string }
  | { k: "queue"; name: string; paused: boolean; rate?: number; bp?: Backpressure; ret?: QueueRetention }
  | { k: "wf"; r: SavedWorkflow }
  | { k: "wf-"; id: string }
  | { k: "cron"; r: SavedCron }
  | { k: "cron-"; name: string }
  | { k: "schema"; r: SchemaRecord }
  | { k: "schema-"; type: string; version: string | number }
  | { k: "ckpt"; r: CheckpointRecord }
  | { k: "ckpt-"; id: string }
  | CoreRecord
  | { k: "reset" };

/** Records of what lives in the server core above the state machine (core-records.ts reads and writes them). */
export type CoreRecord =
  | { k: "hook"; r: WebhookSubscription }
  | { k: "hook-"; id: string }
  | { k: "dlv"; r: Delivery }
  | { k: "dlv-"; id: string }
  | { k: "tenant"; id: string; limits: TenantLimitConfig }
  | { k: "tenant-"; id: string };

/** For each kind of record `R`, what replay does with one: the table replaces a switch over `k`. */
export type RecordActions<R extends { k: string }, S> = { [K in R["k"]]: (st: S, r: Extract<R, { k: K }>) => void };

/** Runs the action of `r`'s kind; false when the table has none for it. */
export function applyRecord<R extends { k: string }, S>(actions: RecordActions<R, S>, st: S, r: { k: string }): boolean {
  if (!Object.hasOwn(actions, r.k)) return false;
  (actions[r.k as R["k"]] as (st: S, r: { k: string }) => void)(st, r);
  return true;
}

/** Frames one record. */
export function frame(rec: JournalRecord): Buffer {
  const json = JSON.stringify(rec);
  const len = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + len);
  buf.write(json, HEADER_BYTES, "utf8");
  buf.writeUInt32LE(len, 0);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 4);
  return buf;
}

/**
 * How a scan ended: after the last byte ("clean"); at eight zero bytes where a
 * record would start ("zeros": the file's spare space, see file.ts; no record
 * is empty, so no record starts so); or at a record that cannot be read.
 */
export type ScanEnd = { kind: "clean" } | { kind: "zeros"; offset: number } | { kind: "torn" | "corrupt"; offset: number; reason: string };

/**
 * Told each whole record, as its payload buf[start, end) with the checksum
 * checked; returns why the record cannot be read (the scan then ends there, as
 * at a corrupt record), or undefined when it was taken.
 */
export type FrameSink = (buf: Buffer, start: number, end: number) => string | undefined;

/** Reads whole records from `buf`, stopping at the first that is cut short, fails its checksum or cannot be read. */
export function scanFrames(buf: Buffer, onFrame: FrameSink): ScanEnd {
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < HEADER_BYTES) return { kind: "torn", offset: off, reason: "a record header cut short" };
    const len = buf.readUInt32LE(off);
    const sum = buf.readUInt32LE(off + 4);
    if (len === 0 && sum === 0) return { kind: "zeros", offset: off };
    if (len > MAX_RECORD_BYTES) return { kind: "corrupt", offset: off, reason: `an impossible record length ${len}` };
    if (buf.length - off - HEADER_BYTES < len) return { kind: "torn", offset: off, reason: "a record cut short" };
    const start = off + HEADER_BYTES;
    if (crc32Range(buf, start, start + len) !== sum) return { kind: "corrupt", offset: off, reason: "a checksum mismatch" };
    const unreadable = onFrame(buf, start, start + len);
    if (unreadable !== undefined) return { kind: "corrupt", offset: off, reason: unreadable };
    off = start + len;
  }
  return { kind: "clean" };
}

/** Whether buf[from, to) holds only zero bytes. */
export function zeroFrom(buf: Buffer, from: number, to = buf.length): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** A JSON record's payload parsed, or undefined when it is not JSON. */
export function parseJsonRecord(buf: Buffer, start: number, end: number): JournalRecord | undefined {
  try {
    return JSON.parse(buf.toString("utf8", start, end)) as JournalRecord;
  } catch {
    return undefined;
  }
}

/**
 * A sink that hands on every record as a JournalRecord, binary job records
 * included (as `job` records), and a step as the `job` record of the job it
 * leaves (a step of a job with no earlier record is left out): for tests and
 * tools; replay reads binary job records straight into the store instead (replay.ts).
 */
export function records(onRecord: (r: JournalRecord) => void): FrameSink {
  const jobs = new JobRecordReader();
  const steps = new JobStepReader();
  const last = new Map<string, RestoredJob>();
  const saw = (j: RestoredJob): void => {
    const copy = { ...j };
    last.set(copy.id, copy);
    onRecord({ k: "job", r: copy });
  };
  return (buf, start, end) => {
    if (buf[start] === JOB_BINARY || buf[start] === JOB_STEP) {
      try {
        if (buf[start] === JOB_BINARY) saw(jobs.read(buf, start, end));
        else {
          const s = steps.read(buf, start, end, (id) => last.get(id));
          if (s.job) saw(s.job);
        }
      } catch {
        return "a job record that cannot be read";
      }
      return undefined;
    }
    const r = parseJsonRecord(buf, start, end);
    if (r === undefined) return "a record that is not JSON";
    if (r.k === "job") last.set(r.r.id, reviveJob(structuredClone(r.r)));
    else if (r.k === "job-") last.delete(r.id);
    else if (r.k === "reset") last.clear();
    onRecord(r);
    return undefined;
  };
}

/** Reads whole records from `buf` as JournalRecords (scanFrames with records()). */
export function scan(buf: Buffer, onRecord: (r: JournalRecord) => void): ScanEnd {
  return scanFrames(buf, records(onRecord));
}

/** Binary job records are packed into buffers of about this size. */
const PACK_BYTES = 1024 * 1024;
/** One for the process: framing is synchronous, and each JobFramer starts by clearing it. */
const packed = new ScratchWriter();

/** The record of one job as it is now: binary (job-record.ts) when the job fits that format, JSON otherwise. */
export function frameJob(rec: RestoredJob): Buffer {
  packed.reset();
  return writeJobBinary(packed, rec) ? packed.take()! : frame({ k: "job", r: savedJob(rec) });
}

/**
 * Frames records into `out`, in order, packed together into buffers of about
 * PACK_BYTES (a group commit of a few records, or a batch of a thousand jobs,
 * is one buffer of the write): jobs binary where they fit, JSON otherwise, and
 * any other record as JSON. Call flush() at the end.
 */
export class JobFramer {
  /** Records framed, and buffers they took in `out` (for counting records). */
  records = 0;
  buffers = 0;

  constructor(private readonly out: Buffer[]) {
    packed.reset();
  }

  job(rec: RestoredJob): void {
    if (!writeJobBinary(packed, rec)) this.record({ k: "job", r: savedJob(rec) });
    else this.packedOne();
  }

  /** The job's step (job-step.ts): only for a job whose whole record is already in the file; a whole record when the step cannot carry it. */
  step(rec: RestoredJob): void {
    if (writeJobStep(packed, rec)) this.packedOne();
    else this.job(rec);
  }

  gone(id: string): void {
    this.record({ k: "job-", id });
  }

  /** Any record, as JSON (the bytes frame() gives it). */
  record(rec: JournalRecord): void {
    packed.jsonRecord(JSON.stringify(rec));
    this.packedOne();
  }

  /** Buffers framed elsewhere (one record each), after the records before them. */
  push(...bs: Buffer[]): void {
    this.flush();
    for (const b of bs) this.out.push(b);
    this.buffers += bs.length;
    this.records += bs.length;
  }

  private packedOne(): void {
    this.records++;
    if (packed.size >= PACK_BYTES) this.flush();
  }

  flush(): void {
    const b = packed.take();
    if (!b) return;
    this.out.push(b);
    this.buffers++;
  }
}

// --- dates back -----------------------------------------------------------------------

const date = (v: unknown): Date | undefined => (v === undefined || v === null ? undefined : new Date(v as string));

/**
 * A job record as parsed, made live in place: its own objects become the live
 * job (no copies), dates come back as Dates, and createdAt and enqueuedAt share
 * one Date when they are the same instant, as they do on a new job. Runs once
 * per job on a start-up, so the fields are named rather than looped over.
 */
export function reviveJob(r: SavedJob): RestoredJob {
  const job = r.job as Job & Record<string, unknown>;
  // One string for both: the parsed record holds two equal copies.
  if (job.id === r.id) job.id = r.id;
  const created = job.createdAt as unknown;
  if (created !== undefined) job.createdAt = date(created)!;
  const enqueued = job.enqueuedAt as unknown;
  if (enqueued !== undefined) job.enqueuedAt = enqueued === created ? job.createdAt : date(enqueued);
  if (job.scheduledAt !== undefined) job.scheduledAt = date(job.scheduledAt);
  if (job.startedAt !== undefined) job.startedAt = date(job.startedAt);
  if (job.completedAt !== undefined) job.completedAt = date(job.completedAt);
  if (job.cancelledAt !== undefined) job.cancelledAt = date(job.cancelledAt);
  if (job.expiresAt !== undefined) job.expiresAt = date(job.expiresAt);
  const errors = job.errors as JobError[] | undefined;
  if (errors === undefined) job.errors = [];
  else for (let i = 0; i < errors.length; i++) if (errors[i]!.occurredAt !== undefined) errors[i] = { ...errors[i]!, occurredAt: date(errors[i]!.occurredAt) };
  if (r.progress) r.progress.updatedAt = date(r.progress.updatedAt)!;
  // No retry recorded: the job has the default policy (see savedJob), shared as it is live.
  if (r.retry === undefined) job.retry = DEFAULT_SHOWN_RETRY;
  return {
    id: r.id,
    job,
    extra: r.extra as JsonObject | undefined,
    retry: r.retry ?? DEFAULT_EFFECTIVE_RETRY,
    leaseDeadline: r.leaseDeadline ?? 0,
    workerId: r.workerId,
    uniqueKey: r.uniqueKey,
    deadLetter: r.deadLetter ?? false,
    progress: r.progress,
    directiveOnClaim: r.directiveOnClaim,
    workflowStep: r.workflowStep,
  };
}

/**
 * What a job record carries: only state, never the live links (consumer, timers,
 * versions). Most jobs have the default retry policy: it is left out (about a
 * third of the record) and restored on replay.
 */
export function savedJob(rec: RestoredJob): SavedJob {
  const dflt = rec.retry === DEFAULT_EFFECTIVE_RETRY;
  return {
    id: rec.id,
    job: dflt ? { ...rec.job, retry: undefined } : rec.job,
    extra: rec.extra,
    retry: dflt ? undefined : rec.retry,
    leaseDeadline: rec.leaseDeadline,
    workerId: rec.workerId,
    uniqueKey: rec.uniqueKey,
    deadLetter: rec.deadLetter,
    progress: rec.progress,
    directiveOnClaim: rec.directiveOnClaim,
    workflowStep: rec.workflowStep,
  };
}

function reviveRequest<T extends Partial<NormalizedJobRequest>>(req: T): T {
  const out = { ...req } as T & Record<string, unknown>;
  if (out.scheduledAt !== undefined) out.scheduledAt = date(out.scheduledAt);
  if (out.expiresAt !== undefined) out.expiresAt = date(out.expiresAt);
  return out;
}

export function savedWorkflow(wf: WorkflowRecord): SavedWorkflow {
  return { ...wf, steps: [...wf.steps.values()] };
}

export function reviveWorkflow(s: SavedWorkflow): WorkflowRecord {
  return {
    ...s,
    createdAt: date(s.createdAt)!,
    completedAt: date(s.completedAt),
    steps: new Map(s.steps.map((st) => [st.id, { ...st, request: reviveRequest(st.request) }])),
  };
}

export function savedCron(c: CronRecord): SavedCron {
  const { schedule: _schedule, ...rest } = c;
  return rest;
}

export function reviveCron(c: SavedCron): SavedCron {
  return {
    ...c,
    template: reviveRequest(c.template),
    createdAt: date(c.createdAt)!,
    updatedAt: date(c.updatedAt)!,
    nextRunAt: date(c.nextRunAt),
    lastRunAt: date(c.lastRunAt),
  };
}

export function reviveCheckpoint(c: CheckpointRecord): CheckpointRecord {
  return { ...c, createdAt: date(c.createdAt)! };
}

export function reviveSchema(s: SchemaRecord): SchemaRecord {
  return { ...s, createdAt: date(s.createdAt)! };
}
