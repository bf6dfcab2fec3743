/**
 * npx tsx bench/journal-seq.ts [--n=3000] [--warm=3000] [--rounds=1] [--root=/tmp/base] [--memory] [--batches=0]
 *
 * The journal's sequential durable enqueue through the server, alone: the
 * server (`<root>/bench/server.ts`, journal store with fsync "always" in a
 * fresh temporary directory, or --memory) in its own process, one client in
 * this one making `--n` sequential gRPC enqueues (the bench's payload) after
 * `--warm` warm-up ones, then `--batches` batches of 1 000 after one warm-up
 * batch. Prints per round: rate, p50/p99, and the server's CPU per enqueue
 * (all its threads, thread pool included) from /proc/<pid>/task/<tid>/schedstat,
 * the scheduler's nanoseconds, which move less with load than rates do.
 * --root runs another checkout's server (a base commit, for A/B). Linux only.
 */
import { fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "../src/index.js";
import { payload, JOB_TYPE } from "./common.js";
import { threadsCpuNs } from "./schedstat.js";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(arg("n", "3000"));
const WARM = Number(arg("warm", "3000"));
const ROUNDS = Number(arg("rounds", "1"));
const BATCHES = Number(arg("batches", "0"));
const root = resolve(arg("root", "."));
const memory = process.argv.includes("--memory");
/** --perf=FILE: `perf record -g` of the server over the measured enqueues and batches (the server runs with --perf-basic-prof). */
const perfOut = arg("perf", "");

async function round(r: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ojs-jseq-"));
  const args = memory ? [] : [`--data-dir=${dir}`];
  const execArgv = ["--import", "tsx", ...(perfOut ? ["--perf-basic-prof"] : [])];
  const child = fork(`${root}/bench/server.ts`, args, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const url = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error("server not ready in 30 s")), 30_000);
      child.on("message", (m: { type: string; url?: string }) => {
        if (m.type === "ready") (clearTimeout(t), res(m.url!));
      });
      child.once("exit", () => rej(new Error("server exited")));
    });
    const client = new Client({ url, transport: "grpc" });
    let i = 0;
    for (let w = 0; w < WARM; w++) await client.enqueue(JOB_TYPE, payload(i++), { queue: "seq" });
    const took: number[] = [];
    const perf = perfOut ? spawn("perf", ["record", "-g", "-F", "4999", "-p", String(child.pid), "-o", `${perfOut}.${r}`], { stdio: "ignore" }) : undefined;
    if (perf) await new Promise((res) => setTimeout(res, 1000));
    const cpu0 = threadsCpuNs(child.pid!);
    const t0 = performance.now();
    for (let n = 0; n < N; n++) {
      const t = performance.now();
      await client.enqueue(JOB_TYPE, payload(i++), { queue: "seq" });
      took.push(performance.now() - t);
    }
    const wall = performance.now() - t0;
    const cpu = threadsCpuNs(child.pid!) - cpu0;
    took.sort((a, b) => a - b);
    const pct = (p: number) => took[Math.min(took.length - 1, Math.floor(p * took.length))]!.toFixed(3);
    let line = `round ${r}: ${Math.round((N / wall) * 1000)}/s p50 ${pct(0.5)} p99 ${pct(0.99)} ms, server CPU ${Math.round(cpu / N / 1000)} µs/enqueue`;
    if (BATCHES > 0) {
      const batch = () => Array.from({ length: 1000 }, () => ({ type: JOB_TYPE, args: payload(i++), options: { queue: "seq" } }));
      await client.enqueueBatch(batch());
      const prepared = Array.from({ length: BATCHES }, batch);
      const c0 = threadsCpuNs(child.pid!);
      const b0 = performance.now();
      for (const b of prepared) await client.enqueueBatch(b);
      const bw = performance.now() - b0;
      const bc = threadsCpuNs(child.pid!) - c0;
      line += `; batch ${Math.round((BATCHES * 1000 * 1000) / bw)} jobs/s, server CPU ${(bc / BATCHES / 1000 / 1000).toFixed(1)} µs/job`;
    }
    if (perf) {
      perf.kill("SIGINT");
      await new Promise((res) => perf.once("exit", res));
    }
    console.log(line);
    await client.close();
  } finally {
    child.send({ cmd: "stop" });
    await new Promise((r) => {
      const t = setTimeout(() => (child.kill("SIGKILL"), r(undefined)), 5_000);
      child.once("exit", () => (clearTimeout(t), r(undefined)));
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

for (let r = 1; r <= ROUNDS; r++) await round(r);
