/**
 * The one-worker drain (concurrency 50, no-op handler, memory store, gRPC fast
 * path) over time, in both processes on one clock (process.hrtime is
 * CLOCK_MONOTONIC): what keeps part of the 2 cores idle while it runs
 * (docs/performance-wkr15.md).
 *
 * Marks, made by wrapping prototypes from here (no change to src):
 *   server: each settle-stream chunk read (in), each frame of settle calls
 *           issued (R), each job handed to the push stream (P), each coalesced
 *           write (W, messages and bytes), each frame of answers delivered (D)
 *   worker: each socket chunk read (in), each job accepted from the stream (J),
 *           each handler start (H), each frame of settle calls (F, calls), each
 *           answer (A), each socket write and its end (out, wrote)
 *
 * Prints for every round (fresh worker process each round, one server): the
 * sizes of push writes and ack frames, the legs of the cycle (ack frame ->
 * server read; server read -> answer; answer -> worker; worker's answers ->
 * next ack frame) with their mean and share of the wall, the jobs in
 * circulation at each handler start, and the CPU of each thread of both
 * processes (/proc: main thread against V8's background threads).
 * `--dump=N` prints N ms of raw marks from the middle of each round after the first.
 *
 *   npx tsx bench/drain-timeline.ts [--root=DIR] [--jobs=20000] [--rounds=3] [--dump=3]
 */
import { fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = resolve(arg("root") ?? fileURLToPath(new URL("..", import.meta.url)));
const src = (path: string) => import(resolve(root, "src", path));
const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC
const MAX_MARKS = 2_000_000;

/** [time ms, kind, n, bytes] flattened; bounded. */
type Mark = [number, string, number, number];
const marks: Mark[] = [];
const mark = (kind: string, n = 1, bytes = 0) => void (marks.length < MAX_MARKS && marks.push([now(), kind, n, bytes]));

/** CPU ms of each thread of this process by name (main thread first), from /proc (clock ticks of 10 ms). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const st = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const name = tid === String(process.pid) ? "main" : st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")).replace(/[0-9]+$/, "");
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
  }
  return out;
}
const threadDiff = (a: Map<string, number>, b: Map<string, number>) =>
  [...b]
    .map(([k, v]) => `${k} ${v - (a.get(k) ?? 0)}`)
    .filter((x) => !x.endsWith(" 0"))
    .join(", ");

type Proto = Record<string, (...a: unknown[]) => unknown>;
function wrap(proto: Proto, name: string, before: (self: never, a: unknown[]) => void): void {
  const orig = proto[name]!;
  proto[name] = function (this: never, ...a: unknown[]) {
    before(this, a);
    return orig.apply(this, a);
  };
}

async function server(): Promise<void> {
  const { startServer } = (await src("server/index.ts")) as typeof import("../src/server/index.js");
  const { serverCore } = (await src("server/internal.ts")) as typeof import("../src/server/internal.js");
  const { DurableReplies } = (await src("server/grpc/durable-replies.ts")) as typeof import("../src/server/grpc/durable-replies.js");
  const { FrameCoalescer } = (await src("server/grpc/coalesce.ts")) as typeof import("../src/server/grpc/coalesce.js");
  const { FrameParser } = (await src("transport/grpc/raw.ts")) as typeof import("../src/transport/grpc/raw.js");
  wrap(FrameParser.prototype as unknown as Proto, "push", (_s, a) => mark("in", 1, (a[0] as Buffer).length));
  wrap(DurableReplies.prototype as unknown as Proto, "send", () => mark("R"));
  wrap(DurableReplies.prototype as unknown as Proto, "deliver", () => mark("D"));
  wrap(FrameCoalescer.prototype as unknown as Proto, "flush", (self: { pending: unknown[]; bytes: number }) => {
    if (self.pending.length) mark("W", self.pending.length, self.bytes);
  });
  const s = await startServer({ port: 0, logger: false });
  const jobs = serverCore(s).jobs as unknown as Proto;
  const open = jobs.openConsumer!.bind(jobs);
  jobs.openConsumer = (spec: unknown) => {
    const sp = spec as { deliver: (rec: unknown) => void };
    const deliver = sp.deliver;
    return open({ ...sp, deliver: (rec: unknown) => (mark("P"), deliver(rec)) });
  };
  let th0 = threadCpu();
  process.send!(s.url);
  process.on("message", (m) => {
    if (m === "marks") {
      const th = threadCpu();
      process.send!({ marks: marks.splice(0), threads: threadDiff(th0, th) });
      th0 = th;
    }
    if (m === "stop") void s.close().then(() => process.exit(0));
  });
}

async function worker(): Promise<void> {
  const { Worker } = (await src("index.ts")) as typeof import("../src/index.js");
  const { JobSlots } = (await src("worker/slots.ts")) as typeof import("../src/worker/slots.js");
  const { Pipeline } = (await src("transport/grpc/pipeline.ts")) as typeof import("../src/transport/grpc/pipeline.js");
  const { FrameReader, FrameWriter } = (await src("transport/h2/frames.ts").then(async (fw) => ({
    ...fw,
    ...(await src("transport/h2/reader.ts")),
  }))) as typeof import("../src/transport/h2/frames.js") & typeof import("../src/transport/h2/reader.js");
  wrap(FrameReader.prototype as unknown as Proto, "push", (_s, a) => mark("in", 1, (a[0] as Buffer).length));
  const flushNow = (FrameWriter.prototype as unknown as Proto).flushNow!;
  (FrameWriter.prototype as unknown as Proto).flushNow = function (this: never) {
    mark("out");
    flushNow.apply(this);
    mark("wrote");
  };
  wrap(JobSlots.prototype as unknown as Proto, "accept", () => mark("J"));
  wrap(Pipeline.prototype as unknown as Proto, "flush", (self: { batch: unknown[]; sink: unknown }) => {
    if (self.sink && self.batch.length) mark("F", self.batch.length);
  });
  wrap(Pipeline.prototype as unknown as Proto, "settle", () => mark("A"));
  const n = Number(arg("jobs"));
  const w = new Worker({ url: arg("url")!, transport: "grpc", queues: [arg("queue")!], concurrency: 50, handleSignals: false, logger: false });
  let done = 0;
  const all = new Promise<void>((ok) => w.on("job.completed", () => ++done === n && ok()));
  w.register("bench.noop", () => void mark("H"));
  const c0 = process.cpuUsage();
  const th0 = threadCpu();
  const t0 = now();
  void w.start();
  await all;
  const t1 = now();
  const cpu = process.cpuUsage(c0);
  process.send!({ t0, t1, cpu: cpu.user + cpu.system, threads: threadDiff(th0, threadCpu()), marks: marks.splice(0) });
  await w.stop({ gracePeriodMs: 2_000 });
  process.disconnect();
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "-");

async function main(): Promise<void> {
  const { Client } = (await src("index.ts")) as typeof import("../src/index.js");
  const n = Number(arg("jobs") ?? 20_000);
  const rounds = Number(arg("rounds") ?? 3);
  const me = fileURLToPath(import.meta.url);
  const srv = fork(me, ["server", `--root=${root}`], { execArgv: process.execArgv, stdio: "inherit" });
  process.on("exit", () => srv.kill());
  const ask = <T>(msg: string): Promise<T> =>
    new Promise((ok) => {
      srv.once("message", (m) => ok(m as T));
      srv.send(msg);
    });
  const url = await new Promise<string>((ok) => srv.once("message", (m) => ok(m as string)));
  const client = new Client({ url, transport: "grpc", logger: false });
  for (let r = 0; r < rounds; r++) {
    const queue = `tl-${r}`;
    for (let i = 0; i < n; i += 1_000)
      await client.enqueueBatch(Array.from({ length: Math.min(1_000, n - i) }, () => ({ type: "bench.noop", args: [1], options: { queue } })));
    await ask<unknown>("marks"); // drop the enqueue's marks
    const wp = fork(me, ["worker", `--root=${root}`, `--url=${url}`, `--queue=${queue}`, `--jobs=${n}`], { execArgv: process.execArgv, stdio: "inherit" });
    const exited = new Promise((ok) => wp.once("exit", ok));
    const got = await new Promise<{ t0: number; t1: number; cpu: number; threads: string; marks: Mark[] }>((ok) => wp.once("message", (m) => ok(m as never)));
    const sm = await ask<{ marks: Mark[]; threads: string }>("marks");
    await exited;
    report(r, n, got, sm.marks);
    console.log(`  thread CPU ms, worker: ${got.threads}; server: ${sm.threads}`);
  }
  await client.close();
  await new Promise((ok) => {
    srv.once("exit", ok);
    srv.send("stop");
  });
}

function report(r: number, n: number, w: { t0: number; t1: number; cpu: number; marks: Mark[] }, sm: Mark[]): void {
  const all = [...w.marks.map((m) => [...m, "w"] as const), ...sm.map((m) => [...m, "s"] as const)].sort((a, b) => a[0] - b[0]);
  const firstJ = w.marks.find((m) => m[1] === "J")?.[0] ?? w.t0;
  const wall = w.t1 - firstJ;
  const pushWrites = sm.filter((m) => m[1] === "W" && m[2] > 1);
  const ackFrames = w.marks.filter((m) => m[1] === "F");
  // After each R: first P, and the D; after each worker J burst: the F.
  const rToP: number[] = [];
  const rToD: number[] = [];
  const pToF: number[] = [];
  const fToR: number[] = [];
  const dToA: number[] = [];
  const aToF: number[] = [];
  let lastA: number | undefined;
  let lastR: number | undefined;
  let lastF: number | undefined;
  let lastD: number | undefined;
  let sawP = false;
  let firstJofBurst: number | undefined;
  let lastP: number | undefined;
  for (const [t, k, , , side] of all) {
    if (side === "s" && k === "R") {
      lastR = t;
      sawP = false;
      if (lastF !== undefined) (fToR.push(t - lastF), (lastF = undefined));
    } else if (side === "s" && k === "P") {
      if (lastR !== undefined && !sawP) (rToP.push(t - lastR), (sawP = true));
      lastP = t;
    } else if (side === "s" && k === "D") {
      if (lastR !== undefined) rToD.push(t - lastR);
      lastD = t;
    } else if (side === "w" && k === "J") {
      firstJofBurst ??= lastP;
    } else if (side === "w" && k === "A") {
      if (lastD !== undefined) (dToA.push(t - lastD), (lastD = undefined), (lastA = t));
    } else if (side === "w" && k === "F") {
      if (firstJofBurst !== undefined) pToF.push(t - firstJofBurst);
      if (lastA !== undefined) (aToF.push(t - lastA), (lastA = undefined));
      firstJofBurst = undefined;
      lastF = t;
    }
  }
  const sizes = (xs: Mark[], i: 2 | 3) =>
    `p10 ${pct(
      xs.map((m) => m[i]),
      10,
    )} p50 ${pct(
      xs.map((m) => m[i]),
      50,
    )} p90 ${pct(
      xs.map((m) => m[i]),
      90,
    )}`;
  console.log(
    `round ${r}: ${Math.round(n / ((w.t1 - w.t0) / 1000))} jobs/s (first job after ${f(firstJ - w.t0)} ms), worker CPU ${Math.round(w.cpu / n)} µs/job; wall from first job ${f(wall)} ms`,
  );
  console.log(`  push writes ${pushWrites.length}: jobs ${sizes(pushWrites, 2)}; bytes ${sizes(pushWrites, 3)}`);
  console.log(`  ack frames ${ackFrames.length}: calls ${sizes(ackFrames, 2)}; settle frames read by server ${sm.filter((m) => m[1] === "R").length}`);
  // The mean times the count is what a step adds to the wall time: in a lockstep the cycle is the sum of its steps.
  const line = (name: string, xs: number[]) => {
    const sum = xs.reduce((a, b) => a + b, 0);
    console.log(
      `  ${name.padEnd(44)} n ${String(xs.length).padStart(5)}  p10 ${f(pct(xs, 10))}  p50 ${f(pct(xs, 50))}  p90 ${f(pct(xs, 90))}  mean ${f(sum / xs.length)} ms, ${Math.round((100 * sum) / wall)} % of the wall`,
    );
  };
  const writeMs: number[] = [];
  for (let i = 0; i + 1 < w.marks.length; i++)
    if (w.marks[i]![1] === "out" && w.marks[i + 1]![1] === "wrote") writeMs.push(w.marks[i + 1]![0] - w.marks[i]![0]);
  line("worker: socket write (flushNow)", writeMs);
  line("server: settle frame read -> first push", rToP);
  line("server: settle frame read -> its answer", rToD);
  line("worker: push (last P before) -> ack frame", pToF);
  line("ack frame leaves -> server reads it", fToR);
  line("answer delivered -> worker gets it", dToA);
  line("worker: answers in -> next ack frame", aToF);
  // In flight over time: jobs pushed and not yet acked as the server sees it.
  let inFlight = 0;
  const samples: number[] = [];
  for (const [, k, , , side] of all) {
    if (side === "s" && k === "P") inFlight++;
    if (side === "w" && k === "A") inFlight--;
    if (side === "w" && k === "H") samples.push(inFlight);
  }
  console.log(`  jobs pushed and not answered, at each handler start: p10 ${pct(samples, 10)} p50 ${pct(samples, 50)} p90 ${pct(samples, 90)}`);
  const dump = Number(arg("dump") ?? 0);
  if (dump > 0 && r > 0) {
    const mid = firstJ + wall / 2;
    let prev: string | undefined;
    let count = 0;
    let start = 0;
    const out: string[] = [];
    const flushRun = () => prev && out.push(`  ${f(start - mid)} ${prev} x${count}`);
    for (const [t, k, nn, b, side] of all) {
      if (t < mid || t > mid + dump) continue;
      const key = `${side}:${k}${k === "W" || k === "F" || k === "in" ? `(${nn}${b ? `,${b}B` : ""})` : ""}`;
      if (key === prev) count++;
      else {
        flushRun();
        prev = key;
        count = 1;
        start = t;
      }
    }
    flushRun();
    console.log(out.join("\n"));
  }
}

const role = process.argv[2];
if (role === "server") await server();
else if (role === "worker") await worker();
else await main();
