/**
 * npx tsx bench/journal.ts [--quick] [--restart-jobs=N]
 *
 * The durable journal store against the memory store, each server in its own
 * process (bench/server.ts) on loopback, the SDK over gRPC in this one:
 * sequential durable enqueue (rate and p50), enqueueBatch of 1 000, one worker
 * draining queued jobs, and the time a server takes to start on a journal
 * holding N jobs. Writes bench/results/journal.{json,md}.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, Worker } from "../src/index.js";
import { normalizeJobRequest } from "../src/model/schemas.js";
import { forkScript, installExitHandlers } from "./procs.js";
import { restart } from "./journal-restart.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const restartJobs = Number(argv.find((a) => a.startsWith("--restart-jobs="))?.split("=")[1] ?? (quick ? 50_000 : 200_000));
const N = quick ? { seq: 1_000, batches: 10, drain: 10_000 } : { seq: 3_000, batches: 50, drain: 30_000 };
const log = (s: string) => console.error(`[bench journal] ${s}`);
installExitHandlers();

interface Row {
  store: string;
  seqPerSec: number;
  seqP50Ms: number;
  batchJobsPerSec: number;
  workerJobsPerSec: number;
}

const ARGS = [{ to: "someone@example.com", n: 1 }];

async function measure(store: string, env: Record<string, string>): Promise<Row> {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  const server = forkScript("server.ts", []);
  for (const k of Object.keys(env)) delete process.env[k];
  const { url } = await server.next<{ url: string }>("ready", 60_000);
  const client = new Client({ url, transport: "grpc" });
  try {
    for (let i = 0; i < 200; i++) await client.enqueue("bench.job", ARGS, { queue: "warm" });
    const lat: number[] = [];
    let t0 = performance.now();
    for (let i = 0; i < N.seq; i++) {
      const t = performance.now();
      await client.enqueue("bench.job", ARGS, { queue: "seq" });
      lat.push(performance.now() - t);
    }
    const seqPerSec = N.seq / ((performance.now() - t0) / 1000);
    lat.sort((a, b) => a - b);
    const batch = Array.from({ length: 1000 }, () => normalizeJobRequest({ type: "bench.job", args: ARGS, options: { queue: "batch" } }));
    t0 = performance.now();
    for (let i = 0; i < N.batches; i++) await client.transport.enqueueBatch(batch);
    const batchJobsPerSec = (N.batches * 1000) / ((performance.now() - t0) / 1000);
    const drain = Array.from({ length: 1000 }, () => normalizeJobRequest({ type: "bench.job", args: ARGS, options: { queue: "drain" } }));
    for (let i = 0; i < N.drain / 1000; i++) await client.transport.enqueueBatch(drain);
    let done = 0;
    const worker = new Worker({ url, transport: "grpc", queues: ["drain"], concurrency: 50, handleSignals: false });
    worker.register("bench.job", () => undefined);
    let finished!: () => void;
    const all = new Promise<void>((r) => (finished = r));
    worker.on("job.completed", () => {
      if (++done === N.drain) finished();
    });
    t0 = performance.now();
    void worker.start();
    await all;
    const workerJobsPerSec = N.drain / ((performance.now() - t0) / 1000);
    await worker.stop({ gracePeriodMs: 1000 });
    const row = { store, seqPerSec, seqP50Ms: lat[Math.floor(lat.length / 2)]!, batchJobsPerSec, workerJobsPerSec };
    log(JSON.stringify(row));
    return row;
  } finally {
    await client.close();
    server.send({ cmd: "stop" });
  }
}

const dirs: string[] = [];
const rows: Row[] = [];
rows.push(await measure("memory", {}));
for (const fsync of ["always", "none"]) {
  const dir = mkdtempSync(join(os.tmpdir(), "ojs-bench-journal-"));
  dirs.push(dir);
  rows.push(await measure(`journal, fsync ${fsync}`, { OJS_BENCH_DATA_DIR: dir, OJS_BENCH_FSYNC: fsync }));
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
const rs = await restart(restartJobs);
log(JSON.stringify(rs));

const mem = rows[0]!;
const pct = (a: number, b: number) => `${Math.round((a / b) * 100)} %`;
const md = [
  `# Journal store vs memory store (${quick ? "quick" : "full"} run, ${new Date().toISOString()}, ${os.cpus().length} CPUs, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")})`,
  "",
  "| store | sequential enqueue/s | p50 ms | enqueueBatch jobs/s | one worker jobs/s (vs memory) |",
  "|---|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.store} | ${Math.round(r.seqPerSec)} | ${r.seqP50Ms.toFixed(2)} | ${Math.round(r.batchJobsPerSec)} | ${Math.round(r.workerJobsPerSec)} (${pct(r.workerJobsPerSec, mem.workerJobsPerSec)}) |`,
  ),
  "",
  `Start-up on a journal of ${rs.jobs} queued jobs (${(rs.journalBytes / 1024 / 1024).toFixed(1)} MiB): ${Math.round(rs.startMs)} ms (CPU ${Math.round(rs.startCpuMs ?? NaN)} ms).`,
  "",
].join("\n");
const out = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}journal.md`, md);
writeFileSync(`${out}journal.json`, JSON.stringify({ rows, restart: rs, quick }, null, 2));
console.log(md);
process.exit(0);
