/**
 * npm run bench [-- --quick] [--save] [--profile] [--only=grpc,grpc-standard,http,bullmq,ojs-journal,ojs-postgres,bullmq-aof,graphile-worker,pg-boss]
 *                [--scenarios=latency,throughput,enqueue,rss,reclaim,restart] [--restart-jobs=N]
 *
 * Runs the ceiling (bare node:http2), then every scenario for OJS over gRPC,
 * OJS over HTTP and BullMQ on the memory store, then the durable systems
 * (durable.ts: our journal and PostgreSQL stores, BullMQ with appendfsync
 * always, graphile-worker, pg-boss) and the journal restart figure, each
 * system in its own processes on loopback, and
 * writes latest.{json,md} and chart.svg into bench/results/local/ (git-ignored),
 * or into the committed bench/results/ with --save. A subset (--only,
 * --scenarios) writes bench/results/partial/ instead; with --profile, the server
 * and SDK processes also write V8 CPU profiles, into bench/results/profiles/.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LABEL, ojsBackend, processCpuUs, redisBackend, type Backend } from "./backends.js";
import { DURABLE, durableScenarios, isDurable, sizesFor, startDurable, stopCluster } from "./durable.js";
import type { RestartResult } from "./journal-restart.js";
import type { CeilingResult } from "./ceiling.js";
import { FULL, QUICK, type ChildSpec, type DriverName, type FromChild, type Rate, type ScenarioName, type Sizes } from "./common.js";
import { loadIoredis, type RedisCtor } from "./deps.js";
import { exited, forkScript, installExitHandlers, onCleanup } from "./procs.js";
import { startRedis } from "./redis.js";
import { writeReports, type RunResults, type SystemResults } from "./report.js";
import { enqueueWireSizes } from "./wire.js";
import { benchOutDir } from "./out-dir.js";
import { gitState, loadAverage, machineInfo } from "./machine.js";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const list = (name: string) =>
  argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split("=")[1]
    ?.split(",");
const quick = flag("quick");
const sizes: Sizes = quick ? QUICK : FULL;
const drivers = (list("only") ?? ["grpc", "grpc-standard", "http", "bullmq", ...DURABLE]) as DriverName[];
const scenarios = (list("scenarios") ?? ["latency", "throughput", "enqueue", "rss", "reclaim"]) as Array<Exclude<ScenarioName, "produce">>;
// Start-up on a journal of a million jobs (issue 11: <= 5 s); a smaller journal in --quick.
const restartJobs = Number(argv.find((a) => a.startsWith("--restart-jobs="))?.split("=")[1] ?? (quick ? 100_000 : 1_000_000));
const runRestart = drivers.includes("ojs-journal") && (!list("scenarios") || list("scenarios")!.includes("restart"));
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const profileDir = flag("profile") ? `${resultsDir}profiles` : undefined;
// The committed latest.* is always a complete run, replaced only when asked (--save).
const outDir = benchOutDir(argv, resultsDir);
const timeoutMs = quick ? 60_000 : 900_000;
const log = (s: string) => console.error(`[bench] ${s}`);

installExitHandlers();
const began = Date.now();

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
async function runChild<T>(spec: ChildSpec, profileName?: string, sample?: () => CpuSample, phases?: Map<string, CpuSample>): Promise<T> {
  const child = forkScript("child.ts", [JSON.stringify(spec)], {
    ...(profileDir && profileName ? { profile: { dir: profileDir, name: profileName } } : {}),
    exposeGc: spec.scenario === "rss",
  });
  child.proc.on("message", (m: FromChild) => {
    if (m.type === "phase" && sample) phases?.set(m.name, sample());
  });
  try {
    return await child.next<T>("result", timeoutMs);
  } finally {
    await exited(child);
  }
}

async function ceiling(): Promise<CeilingResult> {
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
    const r = await client.next<CeilingResult>("result", timeoutMs);
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

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const results: RunResults = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    machine: machineInfo(),
    loadBefore: loadAverage(),
    git: gitState(),
    sizes,
    wire: enqueueWireSizes(),
    systems: {},
  };

  log(
    `ceilings: bare node:http2, ${results.wire.requestBytes} B requests / ${results.wire.responseBytes} B responses, a stream per call and pipelined on one stream`,
  );
  try {
    const t0 = Date.now();
    results.ceiling = await ceiling();
    const c = results.ceiling;
    log(`  stream per call: ${Math.round(c.modes.sequential?.perSec ?? 0)}/s sequential, ${Math.round(c.modes.c32?.perSec ?? 0)}/s with 32 in flight`);
    log(
      `  pipelined: ${Math.round(c.pipelined?.sequential?.perSec ?? 0)}/s sequential, ${Math.round(c.pipelined?.c32?.perSec ?? 0)}/s with 32 in flight  [${((Date.now() - t0) / 1000).toFixed(1)} s]`,
    );
  } catch (e) {
    results.ceilingError = String(e);
    log(`ceiling failed: ${String(e)}`);
  }

  for (const driver of drivers) {
    if (isDurable(driver)) {
      if (!durableScenarios(driver, scenarios).length) continue;
      log(`${LABEL[driver]}: starting...`);
      const profile = profileDir ? { dir: profileDir, name: `server-${driver}-${scenarios.join("+")}` } : undefined;
      const started = await startDurable(driver, log, profile).catch((e: unknown) => ({
        skipped: `could not start: ${e instanceof Error ? e.message : String(e)}`,
      }));
      if ("skipped" in started) {
        results.systems[driver] = { skipped: started.skipped };
        log(`${LABEL[driver]} skipped: ${started.skipped}`);
        continue;
      }
      if (started.version) (results.versions ??= {})[driver] = started.version;
      const runSizes = sizesFor(driver, sizes, quick);
      (results.durableSizes ??= {})[driver] = runSizes;
      try {
        results.systems[driver] = await runSystem(driver, started.backend, runSizes, durableScenarios(driver, scenarios));
      } finally {
        await started.stop();
      }
      continue;
    }
    if (driver !== "bullmq") {
      const backend = await ojsBackend(
        profileDir ? { dir: profileDir, name: `server-${driver}-${scenarios.join("+")}` } : undefined,
        driver !== "grpc-standard",
      );
      try {
        results.systems[driver] = await runSystem(driver, backend);
      } finally {
        await backend.close();
      }
      continue;
    }
    const Redis = await loadIoredis(true, log);
    const redis = "prototype" in Redis ? await startRedis(log) : { skipped: Redis.missing };
    if ("skipped" in redis) {
      results.systems.bullmq = { skipped: redis.skipped };
      log(`BullMQ skipped: ${redis.skipped}`);
      continue;
    }
    onCleanup(redis.killNow);
    results.redis = redis.version;
    try {
      results.systems.bullmq = await runSystem(driver, await redisBackend(redis.url, redis.pid, Redis as RedisCtor));
    } finally {
      await redis.stop();
    }
  }
  await stopCluster();

  if (runRestart) results.restart = await restartFigure();

  results.durationSec = Math.round((Date.now() - began) / 100) / 10;
  results.loadAfter = loadAverage();
  const files = writeReports(results, outDir);
  log(`done in ${results.durationSec} s: ${files.join(", ")}`);
}

/** Start-up of a server on a journal of `restartJobs` queued jobs, in its own process (journal-restart.ts). */
async function restartFigure(): Promise<RestartResult | { error: string }> {
  log(`journal restart: filling a journal with ${restartJobs.toLocaleString("en-US")} jobs, then starting a server on it...`);
  const t0 = Date.now();
  const profile = profileDir ? `${profileDir}/journal-restart-start.cpuprofile` : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const child = forkScript("journal-restart.ts", [String(restartJobs), ...(profile ? [profile] : [])]);
  try {
    const r = await child.next<RestartResult>("result", 1_800_000);
    log(
      `  start-up ${(r.startMs / 1000).toFixed(2)} s (CPU ${((r.startCpuMs ?? NaN) / 1000).toFixed(2)} s) on ${r.jobs.toLocaleString("en-US")} jobs (${(r.journalBytes / 2 ** 20).toFixed(0)} MiB)  [${((Date.now() - t0) / 1000).toFixed(1)} s]`,
    );
    return r;
  } catch (e) {
    log(`  FAILED: ${String(e)}`);
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    await child.stop();
  }
}

async function runSystem(
  driver: DriverName,
  backend: Backend,
  runSizes: Sizes = sizes,
  runScenarios = scenarios.filter((s) => s !== "reclaim" && (s as string) !== "restart"),
): Promise<SystemResults> {
  const out: SystemResults = {};
  for (const scenario of runScenarios) {
    const tag = `${driver}-${scenario}`;
    const t0 = Date.now();
    log(`${LABEL[driver]}: ${scenario}...`);
    const queue = `bench-${tag}-${Date.now().toString(36)}`;
    const spec: ChildSpec = { driver, scenario, target: backend.target, queue, sizes: runSizes };
    try {
      const queued = scenario === "throughput" ? runSizes.throughputJobs : scenario === "rss" ? runSizes.rssJobs : 0;
      if (queued) await runChild({ ...spec, scenario: "produce", count: queued });
      const phases = new Map<string, CpuSample>();
      const sample = () => sampleCpu(backend);
      const cpu0 = sample();
      const r = await runChild<Record<string, unknown>>(spec, `sdk-${tag}`, sample, phases);
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
      if (queued && r.confirmed !== queued) log(`  warning: ${queued} jobs queued, the backend counts ${String(r.confirmed)} completed`);
      out[scenario] = r as never;
      log(`  ${summary(scenario, r)}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    } catch (e) {
      out[scenario] = { error: e instanceof Error ? e.message : String(e) };
      log(`  FAILED: ${String(e)}`);
    } finally {
      await backend.reset();
    }
  }
  return out;
}

function summary(s: string, r: Record<string, unknown>): string {
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

main().then(
  () => process.exit(0),
  (e) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
