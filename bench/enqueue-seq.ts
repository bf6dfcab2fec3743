/**
 * Sequential enqueue alone, for A/B work on the fast path's EnqueueStream: a
 * server process (bench/server.ts, memory store) and this process as the
 * client, `--warm` warm-up calls then `--rounds` rounds of `--calls` calls, the
 * bench's payload and `{ queue }`, one call awaited at a time (as the enqueue
 * scenario). Prints calls/s, CPU per call of each process, p50 and p99 of a call, and the
 * share of the round spent in calls over 0.5 ms, per round.
 * `--profile=DIR` writes this process's V8 profile of the rounds (started after
 * the warm-up) and the server's of its whole life (window it on `enqueueJob`).
 * Copy it into another checkout's bench/ to measure that tree.
 *
 *   npx tsx bench/enqueue-seq.ts [--calls=5000] [--warm=2000] [--rounds=3] [--profile=DIR]
 */
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { Client } from "../src/index.js";
import { JOB_TYPE, payload } from "./common.js";
import { processCpuUs } from "./backends.js";
import { forkScript, installExitHandlers } from "./procs.js";

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const profile = process.argv.find((a) => a.startsWith("--profile="))?.split("=")[1];
const calls = arg("calls", 5_000);
const warm = arg("warm", 2_000);
const rounds = arg("rounds", 3);

installExitHandlers();
const server = forkScript("server.ts", [], profile ? { profile: { dir: profile, name: "server-seq" } } : {});
const { url } = await server.next<{ url: string }>("ready", 30_000);
const client = new Client({ url, transport: "grpc" });
let i = 0;
for (let w = 0; w < warm; w++) await client.enqueue(JOB_TYPE, payload(i++), { queue: "seq" });
const session = profile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
for (let r = 0; r < rounds; r++) {
  const s0 = processCpuUs(server.proc.pid!) ?? 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const took = new Float64Array(calls);
  for (let n = 0; n < calls; n++) {
    const t = performance.now();
    await client.enqueue(JOB_TYPE, payload(i++), { queue: "seq" });
    took[n] = performance.now() - t;
  }
  const ms = performance.now() - t0;
  const sorted = took.slice().sort();
  // The slow calls' share of the round: a sequential rate is the mean, and a few stalls move it.
  let slow = 0;
  for (const x of took) if (x > 0.5) slow += x;
  const c = process.cpuUsage(c0);
  const s = (processCpuUs(server.proc.pid!) ?? 0) - s0;
  console.log(
    JSON.stringify({
      callsPerSec: Math.round(calls / (ms / 1000)),
      clientUsPerCall: +((c.user + c.system) / calls).toFixed(1),
      serverUsPerCall: +(s / calls).toFixed(1),
      p50Us: Math.round(sorted[calls >> 1]! * 1000),
      p99Us: Math.round(sorted[Math.floor(calls * 0.99)]! * 1000),
      slowShare: +(slow / ms).toFixed(2),
    }),
  );
}
if (session) {
  const { profile: p } = await session.post("Profiler.stop");
  writeFileSync(`${profile}/client-seq.cpuprofile`, JSON.stringify(p));
}
await client.close();
await server.stop();
