/**
 * Where the slowest dispatches of the bench's latency scenario go, over the
 * standard ojs.v1 methods (`--std`, a server with the fast path off, as the
 * bench system grpc-standard) or the fast path: the scenario's loop (one job at
 * a time to an idle Worker at concurrency 50, producer and worker in this
 * process, the server in a child, the next enqueue 1-5 ms after the previous
 * job's completion), with timestamps on CLOCK_MONOTONIC (one clock for both
 * processes) at the enqueue call, the server's submit, the push handed to the
 * stream (deliver), the push left (a setImmediate queued at submit), the
 * handler start, the enqueue answer and the completion (after the Ack); and
 * V8's GC entries of both processes on the same clock.
 *
 * Prints the percentiles of each step, then the slowest 1 %: which step took
 * the time and whether a GC of either process fell inside the job's window.
 *
 *   npx tsx bench/dispatch-tail.ts [--root=DIR] [--std] [--jobs=2000] [--warmup=100] [--runs=1] [--slow=20] [--gcs] [--prof-dir=DIR]
 */
import { fork, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = resolve(arg("root") ?? fileURLToPath(new URL("..", import.meta.url)));
const src = (path: string) => import(resolve(root, "src", path));
const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC
const std = process.argv.includes("--std");

interface Gc {
  start: number;
  ms: number;
  kind: number;
}

/** GC entries of this process on the CLOCK_MONOTONIC scale (performance.now() has its own origin). */
function watchGc(): Gc[] {
  const offset = now() - performance.now();
  const out: Gc[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (out.length < 100_000) out.push({ start: e.startTime + offset, ms: e.duration, kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0 });
    }
  }).observe({ entryTypes: ["gc"] });
  return out;
}

interface ServerMarks {
  /** The Enqueue call's HTTP/2 stream opened (standard) or its message arrived (fast path): the server's 'stream' or 'data'. */
  arrived?: number;
  submit?: number;
  deliver?: number;
  pushLeft?: number;
}

/** When this process first wrote to a socket after `since` (the enqueue leaving the client): socket writes are stamped. */
let firstWrite = 0;
let since = Infinity;

if (process.argv[2] === "server") await server();
else await main();

async function server(): Promise<void> {
  // The arrival of each call: a 'stream' listener put first on every session (createServer wrapped before src loads it).
  let arrived = 0;
  const http2 = (await import("node:http2")).default;
  const create = http2.createServer;
  (http2 as { createServer: unknown }).createServer = (...a: Parameters<typeof create>) => {
    const srv = create(...a);
    srv.prependListener("session", (session) => session.prependListener("stream", () => (arrived = now())));
    return srv;
  };
  (await import("node:module")).syncBuiltinESMExports();
  const { startServer } = (await src("server/index.ts")) as typeof import("../src/server/index.js");
  const { serverCore } = (await src("server/internal.ts")) as typeof import("../src/server/internal.js");
  const s = await startServer({ port: 0, logger: false, fastPath: !std });
  const gcs = watchGc();
  const jobs = serverCore(s).jobs as unknown as Record<string, (...a: unknown[]) => unknown>;
  const marks: ServerMarks[] = [];
  let cur: ServerMarks = {};
  const submit = jobs.submit!.bind(jobs);
  jobs.submit = (...a: unknown[]) => {
    const m: ServerMarks = { arrived, submit: now() };
    cur = m;
    if (marks.length < 100_000) marks.push(m);
    setImmediate(() => (m.pushLeft = now()));
    return submit(...a);
  };
  const open = jobs.openConsumer!.bind(jobs);
  jobs.openConsumer = (spec: unknown) => {
    const sp = spec as { deliver: (rec: unknown) => void };
    return open({
      ...sp,
      deliver: (rec: unknown) => {
        cur.deliver ??= now();
        sp.deliver(rec);
      },
    });
  };
  process.send!(s.url);
  process.on("message", (m) => {
    if (m === "marks") process.send!({ marks, gcs });
    if (m === "stop") void s.close().then(() => process.exit(0));
  });
}

interface Sample {
  t0: number;
  written: number;
  answered: number;
  handler: number;
  completed: number;
}

async function stampWrites(): Promise<void> {
  const net = await import("node:net");
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: unknown, ...a: unknown[]) {
    if (firstWrite < since) firstWrite = now();
    return (write as (...x: unknown[]) => boolean).apply(this, a);
  } as typeof write;
}

async function run(jobs: number, warmup: number, slow: number): Promise<number[]> {
  await stampWrites();
  const { Client, Worker } = (await src("index.ts")) as typeof import("../src/index.js");
  const srv: ChildProcess = fork(fileURLToPath(import.meta.url), ["server", `--root=${root}`, ...(std ? ["--std"] : [])], {
    // --prof-dir=DIR: the server writes a V8 CPU profile there.
    execArgv: [...process.execArgv, ...(arg("prof-dir") ? ["--cpu-prof", `--cpu-prof-dir=${arg("prof-dir")}`] : [])],
    stdio: "inherit",
  });
  const killSrv = () => srv.kill();
  process.on("exit", killSrv);
  const url = await new Promise<string>((ok) => srv.once("message", (m) => ok(m as string)));
  const gcs = watchGc();
  const queue = "dispatch";
  const client = new Client({ url, transport: "grpc", logger: false });
  const w = new Worker({ url, transport: "grpc", queues: [queue], concurrency: 50, handleSignals: false, logger: false });
  let started: ((t: number) => void) | undefined;
  let completed: (() => void) | undefined;
  w.register("bench.noop", () => void started?.(now()));
  w.on("job.completed", () => completed?.());
  void w.start();
  const samples: Sample[] = [];
  const deadline = Date.now() + 180_000;
  for (let i = 0; i < warmup + jobs && Date.now() < deadline; i++) {
    const start = new Promise<number>((r) => (started = r));
    const done = new Promise<void>((r) => (completed = r));
    const t0 = now();
    since = t0;
    await client.enqueue("bench.noop", [{ i, email: `user-${i}@example.com`, plan: "pro", amount: 42.5 }], { queue });
    const answered = now();
    const handler = await start;
    await done;
    if (i >= warmup) samples.push({ t0, written: firstWrite, answered, handler, completed: now() });
    await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
  }
  const got = await new Promise<{ marks: ServerMarks[]; gcs: Gc[] }>((ok) => {
    srv.once("message", (m) => ok(m as never));
    srv.send("marks");
  });
  await w.stop({ gracePeriodMs: 2_000 });
  await client.close();
  await new Promise((ok) => {
    srv.once("exit", ok);
    srv.send("stop");
  });
  process.off("exit", killSrv);
  const marks = got.marks.slice(got.marks.length - samples.length);
  const d = samples.map((s) => s.handler - s.t0);
  const steps: Record<string, number[]> = {};
  const put = (k: string, v: number) => Number.isFinite(v) && (steps[k] ??= []).push(v);
  samples.forEach((s, i) => {
    const m = marks[i] ?? {};
    put("dispatch (enqueue call -> handler)", s.handler - s.t0);
    put("enqueue call -> written (client)", s.written - s.t0);
    put("enqueue call -> submit", m.submit! - s.t0);
    if (std) put("enqueue call -> stream opened (server)", m.arrived! - s.t0);
    if (std) put("stream opened -> submit", m.submit! - m.arrived!);
    put("submit -> deliver", m.deliver! - m.submit!);
    put("deliver -> push left", m.pushLeft! - m.deliver!);
    put("push left -> handler", s.handler - m.pushLeft!);
    put("enqueue answered (after call)", s.answered - s.t0);
    put("handler -> completed (ack)", s.completed - s.handler);
  });
  console.log(`\n${std ? "standard" : "fast path"} (${root}), ${samples.length} jobs: ms p50 / p90 / p99 / max`);
  for (const [k, v] of Object.entries(steps)) console.log(`  ${k.padEnd(38)} ${[0.5, 0.9, 0.99, 1].map((p) => q(v, p).toFixed(3).padStart(7)).join(" /")}`);
  const span = (s: Sample) => s.completed - s.t0;
  const inside = (g: Gc[], a: number, b: number) => g.filter((x) => x.start < b && x.start + x.ms > a);
  const gcCount = (g: Gc[]) => `${g.length} (${g.filter((x) => x.kind === 1).length} scavenges), ${g.reduce((a, x) => a + x.ms, 0).toFixed(0)} ms`;
  console.log(`  GC: client ${gcCount(gcs)}; server ${gcCount(got.gcs)}`);
  if (process.argv.includes("--gcs"))
    for (const [who, g] of [
      ["client", gcs],
      ["server", got.gcs],
    ] as const)
      console.log(
        `  ${who} GCs (ms after the first job: kind/ms): ${g.map((x) => `${(x.start - samples[0]!.t0).toFixed(0)}:${x.kind}/${x.ms.toFixed(1)}`).join(" ")}`,
      );
  console.log(`  share of a cycle in the dispatch window: ${((q(d, 0.5) / q(samples.map(span), 0.5)) * 100).toFixed(0)} % of enqueue->completed`);
  const order = d.map((v, i) => i).sort((a, b) => d[b]! - d[a]!);
  let gcHit = 0;
  for (const i of order.slice(0, slow)) {
    const s = samples[i]!;
    const m = marks[i] ?? {};
    const cg = inside(gcs, s.t0, s.handler);
    const sg = inside(got.gcs, s.t0, s.handler);
    if (cg.length || sg.length) gcHit++;
    const f = (x: number) => x.toFixed(2);
    console.log(
      `  #${i} ${f(d[i]!)} ms: ->submit ${f(m.submit! - s.t0)} ->deliver ${f(m.deliver! - m.submit!)} ->left ${f(m.pushLeft! - m.deliver!)} ->handler ${f(s.handler - m.pushLeft!)} answer@${f(s.answered - s.t0)}` +
        `${cg.length ? ` clientGC ${cg.map((x) => `${x.kind}:${f(x.ms)}`).join(",")}` : ""}${sg.length ? ` serverGC ${sg.map((x) => `${x.kind}:${f(x.ms)}`).join(",")}` : ""}`,
    );
  }
  console.log(`  slowest ${slow}: ${gcHit} with a GC inside`);
  return [q(d, 0.5), q(d, 0.9), q(d, 0.99)];
}

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function main(): Promise<void> {
  const runs = Math.min(20, Number(arg("runs") ?? 1));
  const out: number[][] = [];
  for (let r = 0; r < runs; r++) out.push(await run(Number(arg("jobs") ?? 2000), Number(arg("warmup") ?? 100), Number(arg("slow") ?? 20)));
  console.log(`\nruns p50 / p90 / p99: ${out.map((x) => x.map((v) => v.toFixed(2)).join(" / ")).join("; ")}`);
  process.exit(0);
}
