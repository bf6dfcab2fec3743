/**
 * enqueueBatch alone, for A/B work on the batch path: a server process
 * (bench/server.ts, memory store) and this process as the client, `--warm`
 * warm-up batches then `--batches` timed batches of `--size` jobs, the bench's
 * payload, one batch awaited at a time (as the enqueue scenario). Prints jobs/s
 * and CPU per batched job of each process. `--profile=DIR` writes both processes'
 * V8 profiles there (the client's covers the whole run; summarise with bench/profile.ts).
 *
 * `--no-fast-path`: the server without the fast path, so the standard ojs.v1 EnqueueBatch (the
 * grpc-standard system); `--http2-client=node`: the transport's node:http2 wire instead of its own client;
 * `--before=N`: N enqueues from 32 callers first, on the same connection (as the bench's enqueue scenario).
 *
 *   npx tsx bench/enqueue-batch.ts [--batches=50] [--warm=1] [--size=1000] [--rounds=1] [--profile=DIR] [--no-fast-path] [--http2-client=ojs|node] [--before=0]
 */
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { Client, grpcTransport } from "../src/index.js";
import { JOB_TYPE, payload } from "./common.js";
import { processCpuUs } from "./backends.js";
import { forkScript, installExitHandlers } from "./procs.js";

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const profile = process.argv.find((a) => a.startsWith("--profile="))?.split("=")[1];
const batches = arg("batches", 50);
const warm = arg("warm", 1);
const size = arg("size", 1_000);
const rounds = arg("rounds", 1);
const before = arg("before", 0);
const fastPath = !process.argv.includes("--no-fast-path");
const http2Client = process.argv.find((a) => a.startsWith("--http2-client="))?.split("=")[1] === "node" ? "node" : "ojs";

installExitHandlers();
const server = forkScript("server.ts", fastPath ? [] : ["--no-fast-path"], profile ? { profile: { dir: profile, name: "server-batch" } } : {});
const { url } = await server.next<{ url: string }>("ready", 30_000);
const session = profile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
const transport = grpcTransport({ url, http2Client });
const client = new Client({ url, transport });
let i = 0;
const make = () => Array.from({ length: size }, () => ({ type: JOB_TYPE, args: payload(i++), options: { queue: "batch" } }));
let left = before;
// What the bench's enqueue scenario does before its batches: 32 callers on the same connection.
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (left-- > 0) await client.enqueue(JOB_TYPE, payload(i++), { queue: "batch" });
  }),
);
for (let w = 0; w < warm; w++) await client.enqueueBatch(make());
for (let r = 0; r < rounds; r++) {
  const prepared = Array.from({ length: batches }, make);
  const s0 = processCpuUs(server.proc.pid!) ?? 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of prepared) await client.enqueueBatch(b);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const s = (processCpuUs(server.proc.pid!) ?? 0) - s0;
  const n = batches * size;
  console.log(
    JSON.stringify({ jobsPerSec: Math.round(n / (ms / 1000)), clientUsPerJob: +((c.user + c.system) / n).toFixed(1), serverUsPerJob: +(s / n).toFixed(1) }),
  );
}
if (session) {
  const { profile: p } = await session.post("Profiler.stop");
  writeFileSync(`${profile}/client-batch.cpuprofile`, JSON.stringify(p));
}
await client.close();
await transport.close();
await server.stop();
