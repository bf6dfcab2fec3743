/**
 * Where the dispatch (pickup) latency of the bench's latency scenario goes:
 * the same loop (one job at a time to an idle Worker at concurrency 50, the
 * producer and the worker in this process, the server in a child process, the
 * next enqueue 1-5 ms after the previous job's completion), with timestamps on
 * CLOCK_MONOTONIC (process.hrtime, one clock for both processes) at:
 *
 *   enqueue call -> server: submit() called -> the job handed to the push
 *   stream (deliver) -> the push left (a setImmediate queued at deliver: it
 *   runs right after node:http2's native immediate that writes the frame) ->
 *   handler start; and on the side: the journal write's start and end (its
 *   fdatasync included), the enqueue answer resolved in this process.
 *
 * The server's functions are wrapped from here (no change to src): submit, the
 * consumer's deliver, the journal's appendSync/append. Prints the median (and
 * p90) of each step over the samples, per server kind, alternating kinds:
 *
 *   npx tsx bench/dispatch-timeline.ts [--root=DIR] [--servers=memory,journal] [--jobs=500] [--warmup=50] [--pairs=2]
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = resolve(arg("root") ?? fileURLToPath(new URL("..", import.meta.url)));
const src = (path: string) => import(resolve(root, "src", path));
const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC

/** Server-side marks of one job, in ms on CLOCK_MONOTONIC. */
interface ServerMarks {
  submit?: number;
  deliver?: number;
  pushLeft?: number;
}

if (process.argv[2] === "server") await server();
else await main();

async function server(): Promise<void> {
  const { startServer } = (await src("server/index.ts")) as typeof import("../src/server/index.js");
  const { serverCore } = (await src("server/internal.ts")) as typeof import("../src/server/internal.js");
  const { JournalFile } = (await src("server/store/journal/file.ts")) as typeof import("../src/server/store/journal/file.js");
  const { CommitPath } = (await src("server/store/journal/commit-path.ts")) as typeof import("../src/server/store/journal/commit-path.js");
  // journal[-none|-loop|-pool]: fsync "none", or every small group commit on the loop / in the pool.
  const kind = arg("server") ?? "memory";
  const dataDir = kind.startsWith("journal") ? mkdtempSync(join(tmpdir(), "ojs-dispatch-")) : undefined;
  const way = kind.endsWith("-loop") ? true : kind.endsWith("-pool") ? false : undefined;
  if (way !== undefined) CommitPath.prototype.onLoop = () => way;
  const fsync = kind.endsWith("-none") ? "none" : "always";
  const s = await startServer({ port: 0, logger: false, ...(dataDir ? { dataDir, fsync } : {}) });
  const core = serverCore(s);
  const marks: ServerMarks[] = [];
  const writes: Array<{ start: number; end: number; sync: boolean }> = [];
  let cur: ServerMarks = {};
  const jobs = core.jobs as unknown as Record<string, (...a: unknown[]) => unknown>;
  // --plain: no wrappers (the dispatch figure alone, to see what the marks cost).
  if (process.argv.includes("--plain")) return serve(s, dataDir, marks, writes);
  const submit = jobs.submit!.bind(jobs);
  jobs.submit = (...a: unknown[]) => {
    const m: ServerMarks = { submit: now() };
    cur = m;
    marks.push(m);
    // Queued before the store's own immediates (the journal's write): runs right after node:http2's
    // native immediate that writes the pushed frame, so it marks when the push left.
    setImmediate(() => (m.pushLeft = now()));
    return submit(...a);
  };
  const open = jobs.openConsumer!.bind(jobs);
  jobs.openConsumer = (spec: unknown) => {
    const sp = spec as { deliver: (rec: unknown) => void };
    const deliver = sp.deliver;
    return open({
      ...sp,
      deliver: (rec: unknown) => {
        const m = cur;
        m.deliver ??= now();
        deliver(rec);
      },
    });
  };
  const proto = JournalFile.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const appendSync = proto.appendSync!;
  proto.appendSync = function (this: unknown, ...a: unknown[]) {
    const start = now();
    const r = appendSync.apply(this, a);
    writes.push({ start, end: now(), sync: true });
    return r;
  };
  const append = proto.append!;
  proto.append = async function (this: unknown, ...a: unknown[]) {
    const start = now();
    const r = await append.apply(this, a);
    writes.push({ start, end: now(), sync: false });
    return r;
  };
  serve(s, dataDir, marks, writes);
}

function serve(s: { url: string; close(): Promise<void> }, dataDir: string | undefined, marks: ServerMarks[], writes: unknown[]): void {
  process.send!(s.url);
  process.on("message", (m) => {
    if (m === "marks") {
      process.send!({ marks, writes });
      marks.length = 0;
      writes.length = 0;
    }
    if (m === "stop")
      void s.close().then(() => {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
  });
}

interface Sample {
  t0: number;
  answered: number;
  handler: number;
}

async function run(kind: string, jobs: number, warmup: number): Promise<Record<string, number[]>> {
  const { Client, Worker } = (await src("index.ts")) as typeof import("../src/index.js");
  const me = fileURLToPath(import.meta.url);
  const srv: ChildProcess = fork(me, ["server", `--root=${root}`, `--server=${kind}`, ...(process.argv.includes("--plain") ? ["--plain"] : [])], {
    execArgv: process.execArgv,
    stdio: "inherit",
  });
  const killSrv = () => srv.kill();
  process.on("exit", killSrv);
  const url = await new Promise<string>((ok) => srv.once("message", (m) => ok(m as string)));
  const queue = "dispatch";
  const client = new Client({ url, transport: "grpc", logger: false });
  const w = new Worker({ url, transport: "grpc", queues: [queue], concurrency: 50, handleSignals: false, logger: false });
  let started: ((t: number) => void) | undefined;
  let completed: (() => void) | undefined;
  w.register("bench.noop", () => void started?.(now()));
  w.on("job.completed", () => completed?.());
  void w.start();
  const samples: Sample[] = [];
  const deadline = Date.now() + 120_000;
  for (let i = 0; i < warmup + jobs && Date.now() < deadline; i++) {
    const start = new Promise<number>((r) => (started = r));
    const done = new Promise<void>((r) => (completed = r));
    const t0 = now();
    await client.enqueue("bench.noop", [{ i, email: `user-${i}@example.com`, plan: "pro", amount: 42.5 }], { queue });
    const answered = now();
    const handler = await start;
    await done;
    if (i >= warmup) samples.push({ t0, answered, handler });
    await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
  }
  const got = await new Promise<{ marks: ServerMarks[]; writes: Array<{ start: number; end: number; sync: boolean }> }>((ok) => {
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
  const marks: ServerMarks[] = got.marks.length ? got.marks.slice(got.marks.length - samples.length) : samples.map(() => ({}));
  const out: Record<string, number[]> = {};
  const put = (k: string, v: number | undefined) => v !== undefined && Number.isFinite(v) && (out[k] ??= []).push(v);
  samples.forEach((s, i) => {
    const m = marks[i]!;
    if (m.submit !== undefined) {
      // The journal's writes of this job's cycle (up to the next submit), and whether one was still running at submit.
      const until = marks[i + 1]?.submit ?? Infinity;
      const mine = got.writes.filter((x) => x.start >= m.submit! && x.start < until);
      if (marks[i + 1]) put("journal writes per cycle", mine.length);
      put("a journal write running at submit (1/0)", got.writes.some((x) => x.start < m.submit! && x.end > m.submit!) ? 1 : 0);
      if (i < 3 && process.argv.includes("--show"))
        console.log(
          kind,
          "cycle",
          i,
          mine.map((x) => `${(x.start - m.submit!).toFixed(3)}+${(x.end - x.start).toFixed(3)}${x.sync ? "L" : "P"}`).join(" "),
          "handler",
          (s.handler - m.submit!).toFixed(3),
          "answered",
          (s.answered - m.submit!).toFixed(3),
        );
    }
    put("dispatch (enqueue call -> handler)", s.handler - s.t0);
    put("enqueue call -> server submit", m.submit! - s.t0);
    put("submit -> deliver", m.deliver! - m.submit!);
    put("deliver -> push left", m.pushLeft! - m.deliver!);
    put("push left -> handler", s.handler - m.pushLeft!);
    put("submit -> handler", s.handler - m.submit!);
    put("enqueue answered (after call)", s.answered - s.t0);
    put("handler before answer", s.answered - s.handler);
    // The journal write that covers this job's insert: the first one starting after submit.
    const wr = got.writes.find((x) => x.start >= m.submit!);
    if (wr && wr.start < s.answered) {
      put("submit -> journal write start", wr.start - m.submit!);
      put("journal write (start -> end)", wr.end - wr.start);
      put("journal write on the loop (1) / pool (0)", wr.sync ? 1 : 0);
      put("push left - journal write start", m.pushLeft! - wr.start);
    }
  });
  return out;
}

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function main(): Promise<void> {
  const kinds = (arg("servers") ?? "memory,journal").split(",");
  const jobs = Number(arg("jobs") ?? 500);
  const warmup = Number(arg("warmup") ?? 50);
  const pairs = Number(arg("pairs") ?? 1);
  const all: Record<string, Record<string, number[][]>> = {};
  for (let p = 0; p < pairs; p++)
    for (const kind of kinds) {
      const r = await run(kind, jobs, warmup);
      for (const [k, v] of Object.entries(r)) ((all[kind] ??= {})[k] ??= []).push(v);
      console.log(`${kind} run ${p + 1}: dispatch p50 ${q(r["dispatch (enqueue call -> handler)"]!, 0.5).toFixed(3)} ms`);
    }
  for (const kind of kinds) {
    console.log(`\n${kind} (${root}): median of runs of [p50 / p90] in ms`);
    for (const [k, runs] of Object.entries(all[kind] ?? {})) {
      const p50 = runs.map((v) => q(v, 0.5)).sort((a, b) => a - b);
      const p90 = runs.map((v) => q(v, 0.9)).sort((a, b) => a - b);
      const mid = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
      console.log(
        `  ${k.padEnd(44)} ${mid(p50).toFixed(3).padStart(8)} / ${mid(p90).toFixed(3).padStart(8)}   (p50s: ${p50.map((x) => x.toFixed(3)).join(" ")})`,
      );
    }
  }
}
