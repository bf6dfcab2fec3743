/**
 * npm run bench [-- --quick] [--save] [--profile] [--only=grpc,grpc-standard,http,bullmq] [--scenarios=latency,throughput,enqueue,rss]
 *
 * Runs the ceiling (bare node:http2), then every scenario for OJS over gRPC,
 * OJS over HTTP and BullMQ, each system in its own processes on loopback, and
 * writes latest.{json,md} and chart.svg into bench/results/local/ (git-ignored),
 * or into the committed bench/results/ with --save. A subset (--only,
 * --scenarios) writes bench/results/partial/ instead; with --profile, the server
 * and SDK processes also write V8 CPU profiles, into bench/results/profiles/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { LABEL, ojsBackend, processCpuUs, redisBackend, type Backend } from "./backends.js";
import type { CeilingResult } from "./ceiling.js";
import { FULL, QUICK, type ChildSpec, type DriverName, type FromChild, type Rate, type ScenarioName, type Sizes } from "./common.js";
import { loadIoredis, type RedisCtor } from "./deps.js";
import { exited, forkScript, installExitHandlers, onCleanup } from "./procs.js";
import { startRedis } from "./redis.js";
import { writeReports, type RunResults, type SystemResults } from "./report.js";
import { enqueueWireSizes } from "./wire.js";
import { benchOutDir } from "./out-dir.js";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const list = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1]?.split(",");
const quick = flag("quick");
const sizes: Sizes = quick ? QUICK : FULL;
const drivers = (list("only") ?? ["grpc", "grpc-standard", "http", "bullmq"]) as DriverName[];
const scenarios = (list("scenarios") ?? ["latency", "throughput", "enqueue", "rss"]) as Array<Exclude<ScenarioName, "produce">>;
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const profileDir = flag("profile") ? `${resultsDir}profiles` : undefined;
// The committed latest.* is always a complete run, replaced only when asked (--save).
const outDir = benchOutDir(argv, resultsDir);
const timeoutMs = quick ? 60_000 : 900_000;
const log = (s: string) => console.error(`[bench] ${s}`);

installExitHandlers();
const began = Date.now();

function git(...args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

/**
 * Runs one child to its result (the child exits by itself afterwards). Where the
 * child marks phases, the backend's CPU time at each mark goes into `phases`.
 */
async function runChild<T>(spec: ChildSpec, profileName?: string, backendPid?: number, phases?: Map<string, number>): Promise<T> {
  const child = forkScript("child.ts", [JSON.stringify(spec)], {
    ...(profileDir && profileName ? { profile: { dir: profileDir, name: profileName } } : {}),
    exposeGc: spec.scenario === "rss",
  });
  child.proc.on("message", (m: FromChild) => {
    if (m.type !== "phase") return;
    const cpu = processCpuUs(backendPid);
    if (cpu !== undefined) phases?.set(m.name, cpu);
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
  const cpus = os.cpus();
  const results: RunResults = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    machine: {
      cpu: cpus[0]?.model ?? "unknown",
      cores: cpus.length,
      memoryGB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    // Other work on the machine skews every figure: the 1/5/15-minute load averages before and after.
    loadBefore: os.loadavg().map((l) => Math.round(l * 100) / 100),
    git: { commit: git("rev-parse", "--short", "HEAD"), dirty: git("status", "--porcelain", "--", "src").length > 0 },
    sizes,
    wire: enqueueWireSizes(),
    systems: {},
  };

  log(`ceilings: bare node:http2, ${results.wire.requestBytes} B requests / ${results.wire.responseBytes} B responses, a stream per call and pipelined on one stream`);
  try {
    const t0 = Date.now();
    results.ceiling = await ceiling();
    const c = results.ceiling;
    log(`  stream per call: ${Math.round(c.modes.sequential?.perSec ?? 0)}/s sequential, ${Math.round(c.modes.c32?.perSec ?? 0)}/s with 32 in flight`);
    log(`  pipelined: ${Math.round(c.pipelined?.sequential?.perSec ?? 0)}/s sequential, ${Math.round(c.pipelined?.c32?.perSec ?? 0)}/s with 32 in flight  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
  } catch (e) {
    results.ceilingError = String(e);
    log(`ceiling failed: ${String(e)}`);
  }

  for (const driver of drivers) {
    if (driver !== "bullmq") {
      const backend = await ojsBackend(profileDir ? { dir: profileDir, name: `server-${driver}-${scenarios.join("+")}` } : undefined, driver !== "grpc-standard");
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

  results.durationSec = Math.round((Date.now() - began) / 100) / 10;
  results.loadAfter = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const files = writeReports(results, outDir);
  log(`done in ${results.durationSec} s: ${files.join(", ")}`);
}

async function runSystem(driver: DriverName, backend: Backend): Promise<SystemResults> {
  const out: SystemResults = {};
  for (const scenario of scenarios) {
    const tag = `${driver}-${scenario}`;
    const t0 = Date.now();
    log(`${LABEL[driver]}: ${scenario}...`);
    const queue = `bench-${tag}-${Date.now().toString(36)}`;
    const spec: ChildSpec = { driver, scenario, target: backend.target, queue, sizes };
    try {
      const queued = scenario === "throughput" ? sizes.throughputJobs : scenario === "rss" ? sizes.rssJobs : 0;
      if (queued) await runChild({ ...spec, scenario: "produce", count: queued });
      const phases = new Map<string, number>();
      const cpu0 = processCpuUs(backend.pid);
      const r = await runChild<Record<string, unknown>>(spec, `sdk-${tag}`, backend.pid, phases);
      const cpu1 = processCpuUs(backend.pid);
      if (queued && cpu0 !== undefined && cpu1 !== undefined) r.backendCpuUsPerJob = Math.round((cpu1 - cpu0) / queued);
      // Phase k runs from its mark to the next one.
      const marks = [...phases.entries()];
      for (let k = 0; k + 1 < marks.length; k++) {
        const section = r[marks[k]![0]] as Rate | undefined;
        if (section) section.backendCpuUsPerOp = Math.round((marks[k + 1]![1] - marks[k]![1]) / section.n);
      }
      if (queued) r.confirmed = await backend.completed(queue);
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
  if (s === "throughput") return `${n(r.perSec)} jobs/s (${n(r.jobs)} jobs in ${f(r.seconds)} s)`;
  if (s === "enqueue") {
    const e = r as unknown as Record<"sequential" | "concurrent" | "batch", { perSec: number }>;
    return `sequential ${n(e.sequential.perSec)}/s, 32 callers ${n(e.concurrent.perSec)}/s, batch ${n(e.batch.perSec)} jobs/s`;
  }
  return `RSS ${String(r.rssAtCheckpointMB)} MB at ${n(r.checkpoint)} -> ${String(r.rssAtEndMB)} MB at ${n(r.jobs)} (${String(r.growthPct)} %), peak ${String(r.peakRssMB)} MB, ${n(r.perSec)} jobs/s`;
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
