/**
 * Start-up: find the newest complete journal generation, read its whole
 * records, cut off a torn or corrupt tail (and say so, once), and put the last
 * recorded state of every thing back into the state machine.
 */
import { readdir, stat, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import { OjsError } from "../../../model/errors.js";
import type { ServerCore } from "../../core.js";
import type { SchemaRecord } from "../schemas.js";
import type { JobRecord } from "../records.js";
import { FILE_RE, fileName } from "./file.js";
import { scanFile } from "./read.js";
import type { CheckpointRecord } from "../checkpoints.js";
import { applyCoreRecord, emptyCoreState, restoreCore, type CoreState } from "./core-records.js";
import { JOB_BINARY, JobRecordReader } from "./job-record.js";
import { JOB_STEP, JobStepReader } from "./job-step.js";
import {
  applyRecord,
  FORMAT_VERSION,
  parseJsonRecord,
  reviveCheckpoint,
  reviveCron,
  reviveJob,
  reviveSchema,
  reviveWorkflow,
  type CoreRecord,
  type JournalRecord,
  type RecordActions,
  type SavedCron,
  type SavedJob,
  type SavedWorkflow,
} from "./records.js";

export interface ReplayResult {
  /** The generation to keep appending to; 0 when the directory held no journal. */
  gen: number;
  /** Bytes of whole records in that file. */
  size: number;
  records: number;
  jobs: number;
  /** Records a snapshot of the replayed state would hold (one per live thing, and the header). */
  live: number;
  /** What was cut off the end, if anything, as the one line logged about it. */
  dropped: string | undefined;
  /** The format its header gives (records.ts FORMAT_VERSION): steps are appended only to a file of format 3 or later. */
  version: number;
}

interface State {
  /** Jobs as the store's records, made as they are read (the store adopts this map: Store.restoreJobs). */
  jobs: Map<string, JobRecord>;
  /** The store's record of a recorded job. */
  job: (saved: SavedJob) => JobRecord;
  queues: Map<string, Extract<JournalRecord, { k: "queue" }>>;
  workflows: Map<string, SavedWorkflow | null>;
  crons: Map<string, SavedCron | null>;
  schemas: Map<string, SchemaRecord | null>;
  checkpoints: Map<string, CheckpointRecord>;
  /** Webhook subscriptions and deliveries, tenant limits (core-records.ts). */
  core: CoreState;
}

export async function replay(dir: string, core: ServerCore, log: (line: string) => void): Promise<ReplayResult> {
  const names = await readdir(dir);
  // Left by a compaction that did not finish: the generation before it is whole.
  for (const n of names) if (n.endsWith(".log.tmp")) await unlink(join(dir, n)).catch(() => {});
  const gens = names
    .map((n) => FILE_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const gen = gens[gens.length - 1];
  if (gen === undefined) return { gen: 0, size: 0, records: 0, jobs: 0, live: 0, dropped: undefined, version: FORMAT_VERSION };
  // Older generations are wholly contained in the newest (a crash may have left them behind).
  for (const g of gens.slice(0, -1)) await unlink(join(dir, fileName(g))).catch(() => {});

  const path = join(dir, fileName(gen));
  if (!(await stat(path)).isFile()) throw new Error(`${path} is not a regular file`);
  const job = (saved: SavedJob): JobRecord => core.store.restoredRecord(reviveJob(saved));
  const st = emptyState(job);
  const binary = new JobRecordReader();
  const steps = new JobStepReader();
  const base = (id: string): JobRecord | undefined => st.jobs.get(id);
  let records = 0;
  let orphans = 0;
  // A file without a header (none is written so) is taken for the oldest format: nothing is appended to it but whole records.
  let version = 1;
  const { end, length } = await scanFile(path, (buf, start, stop) => {
    // Nearly every record of a long journal is a job's: read straight into the store's record.
    if (buf[start] === JOB_BINARY) {
      let rec: JobRecord;
      try {
        rec = core.store.restoredRecord(binary.read(buf, start, stop));
      } catch {
        return "a job record that cannot be read";
      }
      st.jobs.set(rec.id, rec);
    } else if (buf[start] === JOB_STEP) {
      let step: ReturnType<JobStepReader["read"]>;
      try {
        step = steps.read(buf, start, stop, base);
      } catch {
        return "a job step record that cannot be read";
      }
      // The writer never makes one without an earlier record of its job; should one be found, it is
      // skipped (and said once, below) rather than taken for corruption, which would cut every record after it.
      if (step.job) st.jobs.set(step.id, core.store.restoredRecord(step.job));
      else orphans++;
    } else {
      const r = parseJsonRecord(buf, start, stop);
      if (r === undefined) return "a record that is not JSON";
      if (r.k === "hdr") {
        if (r.v > FORMAT_VERSION) throw newerFormat(path, r.v);
        version = r.v;
      }
      apply(st, r);
    }
    records++;
    return undefined;
  });
  let size = length;
  let dropped: string | undefined;
  if (end.kind !== "clean") {
    size = end.offset;
    dropped = `ojs-connect journal: ${path}: dropped ${length - end.offset} bytes at offset ${end.offset} (${end.reason}); kept ${records} whole records`;
    await truncate(path, size);
    log(dropped);
  }
  if (orphans > 0) log(`ojs-connect journal: ${path}: skipped ${orphans} job step records with no earlier record of their job`);
  const jobs = st.jobs.size;
  const live = liveCount(st);
  restore(core, st);
  return { gen, size, records, jobs, live, dropped, version };
}

/** A journal written by a newer version may hold records this one cannot read: refused rather than cut short. */
function newerFormat(path: string, v: number): OjsError {
  return new OjsError(`${path} is in journal format ${v}, newer than this version reads (${FORMAT_VERSION}); start a newer ojs-connect on it`, {
    code: "unavailable",
  });
}

function liveCount(st: State): number {
  let n = 1;
  for (const m of [st.jobs, st.queues, st.workflows, st.crons, st.schemas, st.checkpoints, st.core.hooks, st.core.deliveries, st.core.tenants]) n += m.size;
  return n;
}

function emptyState(job: State["job"]): State {
  return {
    jobs: new Map(),
    job,
    queues: new Map(),
    workflows: new Map(),
    crons: new Map(),
    schemas: new Map(),
    checkpoints: new Map(),
    core: emptyCoreState(),
  };
}

const schemaKey = (s: { type: string; version: string | number }): string => `${s.type}\u0000${s.version}`;

/** Last record wins; a deletion forgets the thing (a later record of the same id brings it back). */
const ACTIONS: RecordActions<Exclude<JournalRecord, CoreRecord>, State> = {
  job: (st, r) => st.jobs.set(r.r.id, st.job(r.r)),
  "job-": (st, r) => st.jobs.delete(r.id),
  queue: (st, r) => st.queues.set(r.name, r),
  wf: (st, r) => st.workflows.set(r.r.id, r.r),
  "wf-": (st, r) => st.workflows.delete(r.id),
  cron: (st, r) => st.crons.set(r.r.name, r.r),
  "cron-": (st, r) => st.crons.delete(r.name),
  schema: (st, r) => st.schemas.set(schemaKey(r.r), r.r),
  "schema-": (st, r) => st.schemas.delete(schemaKey(r)),
  ckpt: (st, r) => st.checkpoints.set(r.r.jobId, r.r),
  "ckpt-": (st, r) => st.checkpoints.delete(r.id),
  reset: (st) => Object.assign(st, emptyState(st.job)),
  hdr: () => {},
};

function apply(st: State, r: JournalRecord): void {
  // Nearly every record of a long journal is a job's: no table look-up for those.
  if (r.k === "job") st.jobs.set(r.r.id, st.job(r.r));
  else if (!applyRecord(ACTIONS, st, r)) applyCoreRecord(st.core, r);
}

/** Puts the gathered state back. */
function restore(core: ServerCore, st: State): void {
  for (const s of st.schemas.values()) {
    if (!s) continue;
    const r = reviveSchema(s);
    core.schemas.register(r.type, r.version, r.schema, r.createdAt);
  }
  for (const q of st.queues.values()) {
    core.store.configureQueue(q.name, {
      paused: q.paused,
      ...(q.rate !== undefined ? { rateLimitPerSecond: q.rate } : {}),
      backpressure: q.bp ?? null,
      retention: q.ret ?? null,
    });
  }
  for (const wf of st.workflows.values()) if (wf) core.store.workflows.restore(reviveWorkflow(wf));
  // A checkpoint whose job was dropped (a "job-" record after it) stays dropped; asked before the store owns the map.
  const checkpoints = [...st.checkpoints.values()].filter((c) => st.jobs.has(c.jobId));
  core.store.restoreJobs(st.jobs);
  // Once more now that the jobs are back: a retention rule counts the finished jobs it finds when set.
  for (const q of st.queues.values()) if (q.ret) core.store.retention.set(q.name, q.ret);
  for (const c of checkpoints) core.store.checkpoints.restore(reviveCheckpoint(c));
  for (const c of st.crons.values()) if (c) core.cron.restore(reviveCron(c));
  restoreCore(core, st.core);
}
