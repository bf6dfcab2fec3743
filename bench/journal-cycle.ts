/**
 * The journal drain's pipeline over time: one Worker (concurrency 50, no-op
 * handler) drains jobs queued beforehand against a journal server (fsync
 * "always"), as bench/worker-drain.ts does, and the server's child records
 * when each group commit's write ran (JournalFile.append / appendSync wrapped
 * from this script; nothing in src changes) and when each frame of settle
 * calls came in and was answered (DurableReplies.send / deliver). It prints,
 * per measured round, how much of the drain the disk was busy (a write
 * running), the gaps between one write's end and the next one's start, jobs
 * per write, and how long a frame of acks waited for its answer.
 *
 *   npx tsx bench/journal-cycle.ts [--roots=/tmp/base,.] [--pairs=1] [--rounds=3] [--jobs=20000]
 *
 * The first round of each server process is a warm-up (not printed in the medians).
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { drainWorker, serverChild } from "./drain-children.js";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const me = fileURLToPath(import.meta.url);
const role = process.argv[2];

interface Cycle {
  writes: number;
  busyShare: number;
  gapP50: number;
  writeP50: number;
  jobsPerWrite: number;
  frames: number;
  answerP50: number;
  cpuPerJob: number;
}

if (role === "server") await server();
else if (role === "worker") await drainWorker(arg("root")!, arg("url")!, arg("queue")!, Number(arg("jobs")));
else await main();

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function server(): Promise<void> {
  const root = arg("root")!;
  const { startServer } = (await import(resolve(root, "src/server/index.ts"))) as typeof import("../src/server/index.js");
  const { JournalFile } = (await import(resolve(root, "src/server/store/journal/file.ts"))) as typeof import("../src/server/store/journal/file.js");
  const { DurableReplies } = (await import(resolve(root, "src/server/grpc/durable-replies.ts"))) as typeof import("../src/server/grpc/durable-replies.js");
  const writes: [number, number, number][] = [];
  const frames: number[] = [];
  const answers: number[] = [];
  let on = false;
  const fileProto = JournalFile.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const append = fileProto.append!;
  fileProto.append = async function (this: unknown, ...a: unknown[]) {
    const t0 = performance.now();
    await append.apply(this, a);
    if (on) writes.push([t0, performance.now(), (a[0] as Buffer[]).reduce((n, b) => n + b.length, 0)]);
  };
  const appendSync = fileProto.appendSync!;
  fileProto.appendSync = function (this: unknown, ...a: unknown[]) {
    const t0 = performance.now();
    appendSync.apply(this, a);
    if (on) writes.push([t0, performance.now(), (a[0] as Buffer[]).reduce((n, b) => n + b.length, 0)]);
  };
  const repliesProto = DurableReplies.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const send = repliesProto.send!;
  const receivedAt: number[] = [];
  repliesProto.send = function (this: unknown, ...a: unknown[]) {
    if (on) receivedAt.push(performance.now());
    return send.apply(this, a);
  };
  const deliver = repliesProto.deliver!;
  repliesProto.deliver = function (this: unknown, ...a: unknown[]) {
    if (on && receivedAt.length) {
      const t = receivedAt.shift()!;
      frames.push(t);
      answers.push(performance.now() - t);
    }
    return deliver.apply(this, a);
  };
  const dataDir = mkdtempSync(join(tmpdir(), "ojs-jcycle-"));
  const s = await startServer({ port: 0, dataDir });
  let c0 = process.cpuUsage();
  let t0 = 0;
  process.send!(s.url);
  process.on("message", (m: string) => {
    if (m === "begin") {
      writes.length = frames.length = answers.length = receivedAt.length = 0;
      on = true;
      t0 = performance.now();
      c0 = process.cpuUsage();
      process.send!("ok");
    } else if (m === "end") {
      on = false;
      const cpu = process.cpuUsage(c0);
      const span = performance.now() - t0;
      // Writes overlap never (one at a time), so busy time is their sum.
      const busy = writes.reduce((n, w) => n + (w[1] - w[0]), 0);
      const gaps = writes.slice(1).map((w, i) => w[0] - writes[i]![1]);
      process.send!({
        writes: writes.length,
        busyShare: busy / span,
        gapP50: pct(gaps, 0.5),
        writeP50: pct(
          writes.map((w) => w[1] - w[0]),
          0.5,
        ),
        frames: frames.length,
        answerP50: pct(answers, 0.5),
        cpu: cpu.user + cpu.system,
      });
    } else if (m === "stop") {
      void s.close().then(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      });
    }
  });
}

async function run(root: string, n: number, rounds: number): Promise<Cycle[]> {
  const srv = fork(me, ["server", `--root=${root}`], { execArgv: process.execArgv, stdio: "inherit" });
  const { url, ask, stop } = await serverChild(srv);
  const { Client } = (await import(resolve(root, "src/index.ts"))) as typeof import("../src/index.js");
  const client = new Client({ url, transport: "grpc", logger: false });
  const out: Cycle[] = [];
  for (let r = 0; r < rounds; r++) {
    const queue = `cycle-${r}`;
    for (let i = 0; i < n; i += 1_000)
      await client.enqueueBatch(Array.from({ length: Math.min(1_000, n - i) }, () => ({ type: "bench.noop", args: [1], options: { queue } })));
    await ask("begin");
    const w = fork(me, ["worker", `--root=${root}`, `--url=${url}`, `--queue=${queue}`, `--jobs=${n}`], { execArgv: process.execArgv, stdio: "inherit" });
    const exited = new Promise((ok) => w.once("exit", ok));
    const got = await new Promise<{ seconds: number }>((ok) => w.once("message", (m) => ok(m as { seconds: number })));
    const s = await ask<Omit<Cycle, "jobsPerWrite" | "cpuPerJob"> & { cpu: number }>("end");
    await exited;
    const c: Cycle = { ...s, jobsPerWrite: n / s.writes, cpuPerJob: s.cpu / n };
    console.log(
      `${r === 0 ? "(warm-up) " : ""}${root}: ${Math.round(n / got.seconds)} jobs/s, server ${c.cpuPerJob.toFixed(1)} µs/job; ` +
        `${c.writes} writes (${c.jobsPerWrite.toFixed(1)} jobs each), disk busy ${(100 * c.busyShare).toFixed(0)} %, write p50 ${c.writeP50.toFixed(2)} ms, ` +
        `gap p50 ${c.gapP50.toFixed(2)} ms; ${c.frames} ack frames, answered after p50 ${c.answerP50.toFixed(2)} ms`,
    );
    if (r > 0) out.push(c);
  }
  await client.close();
  await stop();
  return out;
}

async function main(): Promise<void> {
  const roots = (arg("roots") ?? fileURLToPath(new URL("..", import.meta.url))).split(",").map((r) => resolve(r));
  const pairs = Number(arg("pairs") ?? 1);
  const rounds = Math.max(2, Number(arg("rounds") ?? 3));
  const n = Number(arg("jobs") ?? 20_000);
  for (let p = 0; p < pairs; p++) for (const root of roots) await run(root, n, rounds);
}
