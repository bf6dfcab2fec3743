/**
 * The bench's latency scenario alone (bench/scenarios/latency.ts: one job at a
 * time, enqueue call -> handler start, the next enqueue 1-5 ms after the
 * previous job's completion, a Worker at c=50), against our server on the
 * memory store, the journal (fsync always) or the journal with fsync none, of
 * one or two checkouts, alternating, without the full bench's ceilings. Each
 * run gets a fresh server process (bench/server.ts of that checkout) and a
 * fresh journal directory; the scenario runs in this process, as child.ts
 * runs it in the bench (`--jobs`, `--warmup`: the bench measures every store
 * with 2 000 after 100; durable stores had 500 after 50 until this note). Prints
 * each run's p50 / p90 / p99 and the CPU per job of the server and of this
 * process over the measured jobs, then the medians (docs/performance-jdisp14.md).
 *
 *   npx tsx bench/latency-ab.ts [--base=<checkout>] [--kinds=memory,journal,journal-none] [--runs=3] [--jobs=500] [--warmup=50] [--chunks=N] [--windows] [--threads] [--prof-dir=DIR]
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const here = resolve(fileURLToPath(new URL("..", import.meta.url)));
const base = arg("base");
const kinds = (arg("kinds") ?? "memory,journal").split(",");
const runs = Math.min(20, Number(arg("runs") ?? 3));
const jobs = Math.min(5_000, Number(arg("jobs") ?? 500));
const warmup = Math.min(1_000, Number(arg("warmup") ?? 50));
const trees = base
  ? [
      { name: "base", root: resolve(base) },
      { name: "this", root: here },
    ]
  : [{ name: "this", root: here }];

/** utime + stime of a process from /proc, in µs (USER_HZ 100). */
function procCpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(parts[11]) + Number(parts[12])) * 10_000;
}

/** Each thread's name and CPU (ms) so far. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const f = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
    const name = f.slice(f.indexOf("(") + 1, f.lastIndexOf(")"));
    const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
    out.set(`${t}:${name}`, (Number(parts[11]) + Number(parts[12])) * 10);
  }
  return out;
}

async function startServer(root: string, kind: string): Promise<{ url: string; proc: ChildProcess; dir?: string }> {
  const dir = kind.startsWith("journal") ? mkdtempSync(join(tmpdir(), "ojs-latab-")) : undefined;
  const env = { ...process.env, OJS_BENCH_FSYNC: kind === "journal-none" ? "none" : "always" };
  const proc = fork(join(root, "bench/server.ts"), dir ? [`--data-dir=${dir}`] : [], {
    execArgv: ["--import", "tsx", ...(arg("prof-dir") ? ["--cpu-prof", `--cpu-prof-dir=${arg("prof-dir")}/${kind}`] : [])],
    env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const url = await new Promise<string>((ok, fail) => {
    const t = setTimeout(() => fail(new Error("server: no ready within 30 s")), 30_000);
    proc.on("message", (m: { type: string; url?: string }) => m.type === "ready" && (clearTimeout(t), ok(m.url!)));
    proc.once("exit", (c) => (clearTimeout(t), fail(new Error(`server exited ${c}`))));
  });
  return { url, proc, dir };
}

async function stopServer(s: { proc: ChildProcess; dir?: string }): Promise<void> {
  const gone = new Promise((r) => s.proc.once("exit", r));
  s.proc.send({ cmd: "stop" });
  const t = setTimeout(() => s.proc.kill("SIGKILL"), 5_000);
  await gone;
  clearTimeout(t);
  if (s.dir) rmSync(s.dir, { recursive: true, force: true });
}

interface Run {
  p50: number;
  p90: number;
  p99: number;
  serverUs: number;
  clientUs: number;
}

async function once(root: string, kind: string, i: number): Promise<Run> {
  const { ojsDriver } = (await import(join(root, "bench/drivers/ojs.ts"))) as typeof import("./drivers/ojs.js");
  const { payload, percentiles, sleep } = (await import(join(root, "bench/common.ts"))) as typeof import("./common.js");
  const s = await startServer(root, kind);
  try {
    const d = ojsDriver(s.url, "grpc", `latab-${i}`);
    let started: ((t: number) => void) | undefined;
    let completed: (() => void) | undefined;
    await d.startWorker({ concurrency: 50, onStart: () => started?.(performance.now()), onCompleted: () => completed?.() });
    const samples: number[] = [];
    let c0 = 0;
    let s0 = 0;
    let th0 = new Map<string, number>();
    for (let n = 0; n < warmup + jobs; n++) {
      if (n === warmup) {
        const u = process.cpuUsage();
        c0 = u.user + u.system;
        s0 = procCpuUs(s.proc.pid!);
        th0 = threadCpu(s.proc.pid!);
      }
      const start = new Promise<number>((r) => (started = r));
      const done = new Promise<void>((r) => (completed = r));
      const t0 = performance.now();
      await d.enqueue(payload(n));
      const t1 = await start;
      await done;
      if (n >= warmup) samples.push(t1 - t0);
      await sleep(1 + Math.random() * 4);
    }
    const u = process.cpuUsage();
    const serverUs = (procCpuUs(s.proc.pid!) - s0) / jobs;
    if (process.argv.includes("--threads")) {
      const t1 = threadCpu(s.proc.pid!);
      console.log([...t1].map(([k, v]) => `${k} ${v - (th0.get(k) ?? 0)}`).join(", "));
    }
    const clientUs = (u.user + u.system - c0) / jobs;
    await d.close();
    const p = percentiles(samples);
    // --windows (with --warmup=0 --jobs=2100): the p50 of the two windows the full bench takes, from this one run.
    if (process.argv.includes("--windows"))
      console.log(
        `  ${kind} p50 of jobs 50-549 (the durable stores' window) ${percentiles(samples.slice(50, 550)).p50.toFixed(3)}, of jobs 100-2099 (the memory store's) ${percentiles(samples.slice(100, 2100)).p50.toFixed(3)} ms`,
      );
    // --chunks=N: the p50 of each N consecutive samples (does the p50 move as the processes warm up?)
    const chunk = Number(arg("chunks") ?? 0);
    if (chunk > 0) {
      const parts: string[] = [];
      for (let a = 0; a < samples.length; a += chunk) parts.push(percentiles(samples.slice(a, a + chunk)).p50.toFixed(2));
      console.log(`  ${kind} p50 per ${chunk}: ${parts.join(" ")}`);
    }
    return { p50: p.p50, p90: p.p90, p99: p.p99, serverUs, clientUs };
  } finally {
    await stopServer(s);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const all = new Map<string, Run[]>();
for (let r = 0; r < runs; r++) {
  // Alternating: every second run in the reverse order, so no side always runs first.
  const order = trees.flatMap((t) => kinds.map((k) => ({ t, k })));
  if (r % 2) order.reverse();
  for (const { t, k } of order) {
    const res = await once(t.root, k, r);
    const key = `${t.name} ${k}`;
    all.set(key, [...(all.get(key) ?? []), res]);
    const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    console.log(
      `run ${r + 1} ${key.padEnd(18)} p50 ${res.p50.toFixed(3)} p90 ${res.p90.toFixed(3)} p99 ${res.p99.toFixed(3)} ms  server ${res.serverUs.toFixed(0)} µs/job  client ${res.clientUs.toFixed(0)} µs/job  load ${load}`,
    );
  }
}
console.log("\nmedians of the runs:");
for (const [key, rs] of all) {
  const m = (f: (x: Run) => number) => median(rs.map(f));
  console.log(
    `${key.padEnd(18)} p50 ${m((x) => x.p50).toFixed(3)} p90 ${m((x) => x.p90).toFixed(3)} p99 ${m((x) => x.p99).toFixed(3)} ms  server ${m((x) => x.serverUs).toFixed(0)} µs/job  client ${m((x) => x.clientUs).toFixed(0)} µs/job  (p50s ${rs.map((x) => x.p50.toFixed(2)).join(" ")})`,
  );
}
