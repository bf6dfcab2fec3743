/**
 * One measurement of the bench: a scenario of one system against a running
 * backend (its producer first where it needs queued jobs, the backend's CPU
 * time at every phase the scenario marks, the backend's own count of completed
 * jobs afterwards, the backend emptied at the end), or the bare node:http2
 * ceiling. run.ts decides what runs when; this file runs one of them.
 */
import { processCpuUs, type Backend } from "./backends.js";
import type { CeilingResult } from "./ceiling.js";
import type { ChildSpec, DriverName, FromChild, Rate, ScenarioName, Sizes } from "./common.js";
import { exited, forkScript } from "./procs.js";
import type { Failed } from "./rounds.js";
import { enqueueWireSizes } from "./wire.js";

export interface MeasureContext {
  /** A child that has not answered by then is reported as failed. */
  timeoutMs: number;
  /** Where V8 CPU profiles go (--profile), if anywhere. */
  profileDir?: string | undefined;
  log(s: string): void;
}

/** CPU time (µs) of a backend's process and, for systems on PostgreSQL, of its cluster. */
interface CpuSample {
  backend?: number | undefined;
  db?: number | undefined;
}
const sampleCpu = (b: Backend): CpuSample => ({ backend: processCpuUs(b.pid), db: b.dbCpuUs?.() });

/**
 * Runs one child to its result (the child exits by itself afterwards). Where the
 * child marks phases, the backend's CPU time at each mark goes into `phases`.
 */
async function runChild<T>(ctx: MeasureContext, spec: ChildSpec, profileName?: string, sample?: () => CpuSample, phases?: Map<string, CpuSample>): Promise<T> {
  const child = forkScript("child.ts", [JSON.stringify(spec)], {
    ...(ctx.profileDir && profileName ? { profile: { dir: ctx.profileDir, name: profileName } } : {}),
    exposeGc: spec.scenario === "rss",
  });
  child.proc.on("message", (m: FromChild) => {
    if (m.type === "phase" && sample) phases?.set(m.name, sample());
  });
  try {
    return await child.next<T>("result", ctx.timeoutMs);
  } finally {
    await exited(child);
  }
}

/**
 * One scenario of `driver` on `backend`, to its result or its error; the
 * backend is emptied afterwards either way. `tag` names the queue and the
 * profile (it carries the round when there are several).
 */
export async function runScenario(
  ctx: MeasureContext,
  driver: DriverName,
  backend: Backend,
  scenario: Exclude<ScenarioName, "produce">,
  sizes: Sizes,
  tag: string,
): Promise<Record<string, unknown> | Failed> {
  const queue = `bench-${tag}-${Date.now().toString(36)}`;
  const spec: ChildSpec = { driver, scenario, target: backend.target, queue, sizes };
  try {
    const queued = scenario === "throughput" ? sizes.throughputJobs : scenario === "rss" ? sizes.rssJobs : 0;
    if (queued) await runChild(ctx, { ...spec, scenario: "produce", count: queued });
    const phases = new Map<string, CpuSample>();
    const sample = () => sampleCpu(backend);
    const cpu0 = sample();
    const r = await runChild<Record<string, unknown>>(ctx, spec, `sdk-${tag}`, sample, phases);
    const cpu1 = sample();
    const per = (a: number | undefined, b: number | undefined, n: number) => (a !== undefined && b !== undefined ? Math.round((b - a) / n) : undefined);
    if (queued) {
      const b = per(cpu0.backend, cpu1.backend, queued);
      const db = per(cpu0.db, cpu1.db, queued);
      if (b !== undefined) r.backendCpuUsPerJob = b;
      if (db !== undefined) r.dbCpuUsPerJob = db;
    }
    // Phase k runs from its mark to the next one.
    const marks = [...phases.entries()];
    for (let k = 0; k + 1 < marks.length; k++) {
      const section = r[marks[k]![0]] as Rate | undefined;
      if (!section) continue;
      const [from, to] = [marks[k]![1], marks[k + 1]![1]];
      const b = per(from.backend, to.backend, section.n);
      const db = per(from.db, to.db, section.n);
      if (b !== undefined) section.backendCpuUsPerOp = b;
      if (db !== undefined) section.dbCpuUsPerOp = db;
    }
    if (queued) r.confirmed = await backend.completed(queue, queued);
    if (queued && r.confirmed !== queued) ctx.log(`  warning: ${queued} jobs queued, the backend counts ${String(r.confirmed)} completed`);
    return r;
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    await backend.reset();
  }
}

/** The bare node:http2 ceilings at the scenarios' sizes (ceiling.ts), with the bare server's CPU per call. */
export async function ceiling(ctx: MeasureContext, sizes: Sizes): Promise<CeilingResult> {
  const wire = enqueueWireSizes();
  const server = forkScript("ceiling.ts", ["server", JSON.stringify(wire)]);
  try {
    const { url } = await server.next<{ url: string }>("ready", 30_000);
    const modes = [
      { name: "sequential", n: sizes.enqueueSequential, concurrency: 1 },
      { name: "c32", n: sizes.enqueueConcurrent, concurrency: sizes.callers },
      { name: "c50", n: sizes.throughputJobs, concurrency: sizes.concurrency },
    ];
    const client = forkScript("ceiling.ts", ["client", JSON.stringify({ url, ...wire, modes, batch: { n: sizes.batches, size: sizes.batchSize } })]);
    // The server's CPU time at each phase the client marks: per-stream, pipelined, end.
    const at = new Map<string, number>();
    client.proc.on("message", (m: FromChild) => {
      if (m.type !== "phase") return;
      const cpu = processCpuUs(server.proc.pid);
      if (cpu !== undefined) at.set(m.name, cpu);
    });
    const r = await client.next<CeilingResult>("result", ctx.timeoutMs);
    await exited(client);
    const calls = modes.reduce((a, m) => a + m.n, 0);
    const per = (from: string, to: string) => (at.has(from) && at.has(to) ? Math.round((at.get(to)! - at.get(from)!) / calls) : undefined);
    const perStream = per("per-stream", "pipelined");
    const pipelined = per("pipelined", "end");
    if (perStream !== undefined) r.serverCpuUsPerOp = perStream;
    if (pipelined !== undefined) r.pipelinedServerCpuUsPerOp = pipelined;
    return r;
  } finally {
    await server.stop();
  }
}

/** One line of the log for a scenario's result. */
export function summary(s: string, r: Record<string, unknown>): string {
  const n = (v: unknown) => Math.round(Number(v)).toLocaleString("en-US");
  const f = (v: unknown) => Number(v).toFixed(2);
  if (s === "latency") return `p50 ${f(r.p50)} ms, p90 ${f(r.p90)} ms, p99 ${f(r.p99)} ms`;
  const db = (v: unknown) => (v === undefined ? "" : `, PostgreSQL CPU ${n(v)} µs each`);
  if (s === "throughput") return `${n(r.perSec)} jobs/s (${n(r.jobs)} jobs in ${f(r.seconds)} s)${db(r.dbCpuUsPerJob)}`;
  if (s === "enqueue") {
    const e = r as unknown as Record<"sequential" | "concurrent" | "batch", Rate>;
    return `sequential ${n(e.sequential.perSec)}/s (p50 ${f(e.sequential.p50Ms)} ms${db(e.sequential.dbCpuUsPerOp)}), 32 callers ${n(e.concurrent.perSec)}/s, batch ${n(e.batch.perSec)} jobs/s`;
  }
  if (s === "reclaim") return `offered again ${f(r.p50Ms)} ms (p50), ${f(r.maxMs)} ms (max) after the lease deadline`;
  return `RSS ${String(r.rssAtCheckpointMB)} MB at ${n(r.checkpoint)} -> ${String(r.rssAtEndMB)} MB at ${n(r.jobs)} (${String(r.growthPct)} %), peak ${String(r.peakRssMB)} MB, ${n(r.perSec)} jobs/s`;
}
