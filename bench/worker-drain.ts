/**
 * One Worker (concurrency 50, no-op handler) draining jobs queued beforehand,
 * on its own: a server process (`startServer`, memory or journal store, fast
 * path on or off) and a worker process, CPU time of each around the drain.
 * It loads every part from the tree given by --root, so two trees can be
 * compared in alternation (A/B) on the same machine with the same command:
 *
 *   npx tsx bench/worker-drain.ts [--root=/path/to/other/checkout] [--server=memory|journal|standard] [--jobs=50000] [--rounds=1] [--work-ms=0]
 *
 * memory: the embedded server's memory store over the gRPC fast path (the `grpc` system of
 * `npm run bench`); journal: the same with a data directory, fsync "always" (`ojs-journal`);
 * standard: memory store, `fastPath: false`, the standard ojs.v1 methods (`grpc-standard`).
 * Each round queues `jobs` jobs (enqueueBatch, from this process), starts a fresh worker process
 * and times start() to the last completion; prints jobs/s and CPU per job of worker and server.
 * --work-ms: each handler waits that long (a timer, no CPU), like a job that calls another service.
 * --profile=DIR: V8 CPU profiles of the worker and the server over each drain only (start() to the
 * last completion; no start-up, no enqueueBatch), as DIR/{worker,server}-<round>.cpuprofile.
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { constants as perfConstants, PerformanceObserver } from "node:perf_hooks";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = resolve(arg("root") ?? fileURLToPath(new URL("..", import.meta.url)));
const src = (path: string) => import(resolve(root, "src", path));
const role = process.argv[2];
const total = (c: NodeJS.CpuUsage) => c.user + c.system;
const profileDir = arg("profile");

/** Starts this process's V8 profiler; the function returned stops it and writes the profile. */
async function profiling(name: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(profileDir!, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

if (role === "server") await server();
else if (role === "worker") await worker();
else await main();

async function server(): Promise<void> {
  const { startServer } = (await src("server/index.ts")) as typeof import("../src/server/index.js");
  const kind = arg("server") ?? "memory";
  const dataDir = kind === "journal" ? mkdtempSync(join(tmpdir(), "ojs-drain-")) : undefined;
  const s = await startServer({ port: 0, ...(kind === "standard" ? { fastPath: false } : {}), ...(dataDir ? { dataDir } : {}) });
  process.send!(s.url);
  let stopProfile: (() => Promise<void>) | undefined;
  let round = 0;
  process.on("message", (m) => {
    if (m === "cpu") process.send!(process.cpuUsage());
    if (m === "profile-start") void profiling(`server-${round++}`).then((stop) => ((stopProfile = stop), process.send!("ok")));
    if (m === "profile-stop") void stopProfile!().then(() => process.send!("ok"));
    if (m === "stop")
      void s.close().then(() => {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
  });
}

async function worker(): Promise<void> {
  const { Worker } = (await src("index.ts")) as typeof import("../src/index.js");
  const n = Number(arg("jobs"));
  const w = new Worker({ url: arg("url")!, transport: "grpc", queues: [arg("queue")!], concurrency: 50, handleSignals: false, logger: false });
  let done = 0;
  const all = new Promise<void>((ok) => w.on("job.completed", () => ++done === n && ok()));
  const workMs = Number(arg("work-ms") ?? 0);
  w.register("bench.noop", workMs > 0 ? () => new Promise<void>((r) => setTimeout(r, workMs)) : () => undefined);
  const stopProfile = profileDir ? await profiling(`worker-${arg("round")}`) : undefined;
  // Scavenges and GC time in the worker over the drain: with NODE_OPTIONS=--max-semi-space-size=1
  // every scavenge stands for about 1 MiB allocated, a measure of allocation per job that load does not move.
  const gc = { scavenges: 0, ms: 0 };
  const gcSeen = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.ms += e.duration;
      if ((e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++;
    }
  });
  gcSeen.observe({ entryTypes: ["gc"] });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  void w.start();
  await all;
  gcSeen.disconnect();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(c0);
  const cpu = total(used);
  const sys = used.system;
  await stopProfile?.();
  process.send!({ seconds, cpu, sys, gc });
  await w.stop({ gracePeriodMs: 2_000 });
  process.disconnect();
}

async function main(): Promise<void> {
  const { Client } = (await src("index.ts")) as typeof import("../src/index.js");
  const n = Number(arg("jobs") ?? 50_000);
  const rounds = Number(arg("rounds") ?? 1);
  const kind = arg("server") ?? "memory";
  const me = fileURLToPath(import.meta.url);
  const srv = fork(me, ["server", `--root=${root}`, `--server=${kind}`, ...(profileDir ? [`--profile=${profileDir}`] : [])], {
    execArgv: process.execArgv,
    stdio: "inherit",
  });
  // Never left behind: the server child ends with this process.
  process.on("exit", () => srv.kill());
  const ask = <T>(msg: string): Promise<T> =>
    new Promise((ok) => {
      srv.once("message", (m) => ok(m as T));
      srv.send(msg);
    });
  const url = await new Promise<string>((ok) => srv.once("message", (m) => ok(m as string)));
  const client = new Client({ url, transport: "grpc", logger: false });
  for (let r = 0; r < rounds; r++) {
    const queue = `drain-${r}`;
    for (let i = 0; i < n; i += 1_000)
      await client.enqueueBatch(Array.from({ length: Math.min(1_000, n - i) }, () => ({ type: "bench.noop", args: [1], options: { queue } })));
    if (profileDir) await ask("profile-start");
    const s0 = await ask<NodeJS.CpuUsage>("cpu");
    const profileArgs = profileDir ? [`--profile=${profileDir}`, `--round=${r}`] : [];
    const w = fork(me, ["worker", `--root=${root}`, `--url=${url}`, `--queue=${queue}`, `--jobs=${n}`, `--work-ms=${arg("work-ms") ?? 0}`, ...profileArgs], {
      execArgv: process.execArgv,
      stdio: "inherit",
    });
    // Listened for at once: with --profile the worker may be gone before the answers below are in.
    const exited = new Promise((ok) => w.once("exit", ok));
    type Got = { seconds: number; cpu: number; sys: number; gc: { scavenges: number; ms: number } };
    const got = await new Promise<Got>((ok) => w.once("message", (m) => ok(m as Got)));
    const s1 = await ask<NodeJS.CpuUsage>("cpu");
    const s = total(s1) - total(s0);
    const sSys = s1.system - s0.system;
    if (profileDir) await ask("profile-stop");
    await exited;
    console.log(
      `${kind} ${root}: ${Math.round(n / got.seconds)} jobs/s, CPU per job worker ${Math.round(got.cpu / n)} µs (sys ${Math.round(got.sys / n)}), server ${Math.round(s / n)} µs (sys ${Math.round(sSys / n)}); worker GC ${got.gc.scavenges} scavenges, ${Math.round(got.gc.ms)} ms`,
    );
  }
  await client.close();
  await new Promise((ok) => {
    srv.once("exit", ok);
    srv.send("stop");
  });
}
