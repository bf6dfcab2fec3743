/**
 * enqueueBatch, each batch timed on its own: a server process (bench/server.ts: the memory store,
 * or the journal with fsync always under `--journal`) and this process as the client, `--warm`
 * warm-up batches then `--batches` batches of `--size` jobs awaited one after another (as the
 * bench's enqueue scenario), `--rounds` times. Prints, per round, the batches' wall time as jobs/s
 * at the 25th, 50th percentile and the best batch, and the CPU per batched job of each process.
 * On a loaded machine a mean mixes in every batch that waited for a core; the fast quartile of
 * batches says what the code does when both processes run (bench/README: CPU per job and these).
 *
 *   npx tsx bench/batch-parts.ts [--batches=100] [--warm=5] [--size=1000] [--rounds=3] [--journal]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, grpcTransport } from "../src/index.js";
import { JOB_TYPE, payload } from "./common.js";
import { processCpuUs } from "./backends.js";
import { forkScript, installExitHandlers } from "./procs.js";

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const batches = arg("batches", 100);
const warm = arg("warm", 5);
const size = arg("size", 1_000);
const rounds = arg("rounds", 3);
const journal = process.argv.includes("--journal");

installExitHandlers();
const dataDir = journal ? mkdtempSync(join(tmpdir(), "ojs-batch-parts-")) : undefined;
const server = forkScript("server.ts", dataDir ? [`--data-dir=${dataDir}`] : []);
const { url } = await server.next<{ url: string }>("ready", 30_000);
const transport = grpcTransport({ url });
const client = new Client({ url, transport });
let i = 0;
const make = () => Array.from({ length: size }, () => ({ type: JOB_TYPE, args: payload(i++), options: { queue: "batch" } }));
for (let w = 0; w < warm; w++) await client.enqueueBatch(make());
const rate = (ms: number) => Math.round(size / (ms / 1000));
for (let r = 0; r < rounds; r++) {
  const prepared = Array.from({ length: batches }, make);
  const times: number[] = [];
  const s0 = processCpuUs(server.proc.pid!) ?? 0;
  const c0 = process.cpuUsage();
  for (const b of prepared) {
    const t0 = performance.now();
    await client.enqueueBatch(b);
    times.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  const s = (processCpuUs(server.proc.pid!) ?? 0) - s0;
  const n = batches * size;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  console.log(
    JSON.stringify({
      best: rate(times[0]!),
      p25: rate(at(0.25)),
      p50: rate(at(0.5)),
      clientUsPerJob: +((c.user + c.system) / n).toFixed(1),
      serverUsPerJob: +(s / n).toFixed(1),
    }),
  );
}
await client.close();
await transport.close();
await server.stop();
if (dataDir) rmSync(dataDir, { recursive: true, force: true });
