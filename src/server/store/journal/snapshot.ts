/**
 * Records of the whole state as it is now: the start of every new journal
 * generation (compaction). Reads the state machine through the seam only.
 */
import type { ServerCore } from "../../core.js";
import { snapshotCore } from "./core-records.js";
import { FORMAT_VERSION, frame, JobFramer, savedCron, savedWorkflow, type JournalRecord } from "./records.js";

export function header(gen: number): Buffer {
  return frame({ k: "hdr", v: FORMAT_VERSION, gen, at: new Date().toISOString() });
}

export function queueRecord(core: ServerCore, name: string): JournalRecord | undefined {
  const q = core.store.queueConfig(name);
  if (!q) return undefined;
  const r: JournalRecord = { k: "queue", name, paused: q.paused };
  if (q.rateLimitPerSecond !== undefined) r.rate = q.rateLimitPerSecond;
  if (q.backpressure) r.bp = q.backpressure;
  if (q.retention) r.ret = q.retention;
  return r;
}

/** Every thing the journal keeps, one record each, after a header. */
export function snapshot(core: ServerCore, gen: number): Buffer[] {
  const out: Buffer[] = [header(gen)];
  for (const s of core.schemas.list()) out.push(frame({ k: "schema", r: s }));
  for (const name of core.store.queueNames()) {
    const r = queueRecord(core, name);
    // A queue with default settings needs no record: it comes back with its first job.
    if (r && r.k === "queue" && (r.paused || r.rate !== undefined || r.bp !== undefined || r.ret !== undefined)) out.push(frame(r));
  }
  for (const wf of core.store.workflows.records()) out.push(frame({ k: "wf", r: savedWorkflow(wf) }));
  const jobs = new JobFramer(out);
  for (const rec of core.store.rawJobRecords()) jobs.job(rec);
  jobs.flush();
  for (const c of core.store.checkpoints.records()) out.push(frame({ k: "ckpt", r: c }));
  for (const c of core.cron.list()) out.push(frame({ k: "cron", r: savedCron(c) }));
  out.push(...snapshotCore(core));
  return out;
}
