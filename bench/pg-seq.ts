/**
 * The server's CPU on the PostgreSQL store, idle and per sequential enqueue:
 * a private durable cluster (fsync and synchronous commit on, as the full
 * bench's), the server in its own process (bench/server.ts --store=...), and
 * this process as a gRPC client. First `--idle` seconds with no calls (after
 * `--settle` seconds), then `--warm` warm-up calls and `--rounds` rounds of
 * `--calls` sequential enqueues (the bench's payload, one call awaited at a
 * time). Prints, per phase, the server process's CPU (all its threads, from
 * /proc/<pid>/task/.../schedstat: nanoseconds on a CPU, not ticks) per second
 * (idle) or per call, and the cluster's CPU (ticks, bench/pg-cpu.ts).
 * `--profile=DIR` writes the server's V8 profile of its whole life.
 * `--base=DIR` runs a second server from another checkout (a base commit) on
 * its own database of the same cluster, and the rounds alternate between the
 * two servers (this checkout first in odd rounds, the other in even ones), so
 * both see the same machine load; medians per server at the end.
 *
 *   npx tsx bench/pg-seq.ts [--idle=5] [--settle=2] [--calls=1000] [--warm=500] [--rounds=3] [--base=DIR] [--profile=DIR]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "../src/index.js";
import { JOB_TYPE, payload } from "./common.js";
import { clusterCpuUs } from "./pg-cpu.js";
import { forkScript, installExitHandlers } from "./procs.js";
import { startPostgres } from "../test/support/postgres.js";
import { threadsCpuNs } from "./schedstat.js";

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const profile = process.argv.find((a) => a.startsWith("--profile="))?.split("=")[1];
const idleS = arg("idle", 5);
const settleS = arg("settle", 2);
const calls = arg("calls", 1_000);
const warm = arg("warm", 500);
const rounds = arg("rounds", 3);
// --perf=FILE: `perf record -g` of the server process during the rounds (start the run with
// NODE_OPTIONS=--perf-basic-prof so that perf can name the JIT-compiled functions).
const baseDir = process.argv.find((a) => a.startsWith("--base="))?.split("=")[1];
const perfOut = process.argv.find((a) => a.startsWith("--perf="))?.split("=")[1];

/** User and system CPU so far of `pid`, in µs (clock ticks: coarse, read over a whole round). */
function userSysUs(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return [Number(f[11]) * 10_000, Number(f[12]) * 10_000];
}

installExitHandlers();
const cluster = await startPostgres({ durable: true });
interface Side {
  name: string;
  server: ReturnType<typeof forkScript>;
  pid: number;
  client: Client;
  i: number;
  rounds: Array<Record<string, number>>;
}
const sides: Side[] = [];
try {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const trees: Array<[string, string, string]> = [["this", "server.ts", cluster.url]];
  if (baseDir) trees.push(["base", relative(here, resolve(baseDir, "bench/server.ts")), await cluster.createDatabase("base")]);
  for (const [name, script, db] of trees) {
    const server = forkScript(script, [`--store=${db}`], profile ? { profile: { dir: profile, name: `server-pgseq-${name}` } } : {});
    const { url } = await server.next<{ url: string }>("ready", 60_000);
    const side: Side = { name, server, pid: server.proc.pid!, client: new Client({ url, transport: "grpc" }), i: 0, rounds: [] };
    sides.push(side);
    // One call first so that the queue exists and the connections are open, as in the bench (its warm-up).
    await side.client.enqueue(JOB_TYPE, payload(side.i++), { queue: "seq" });
  }
  await new Promise((r) => setTimeout(r, settleS * 1000));
  const idle0 = { s: sides.map((x) => threadsCpuNs(x.pid)), db: clusterCpuUs(cluster.pid()) ?? 0, t: performance.now() };
  await new Promise((r) => setTimeout(r, idleS * 1000));
  const secs = (performance.now() - idle0.t) / 1000;
  for (const [k, x] of sides.entries())
    console.log(
      JSON.stringify({ server: x.name, idle: true, seconds: +secs.toFixed(2), serverUsPerSec: Math.round((threadsCpuNs(x.pid) - idle0.s[k]!) / 1000 / secs) }),
    );
  console.log(JSON.stringify({ idle: true, clusterUsPerSec: Math.round(((clusterCpuUs(cluster.pid()) ?? 0) - idle0.db) / secs) }));
  for (const x of sides) for (let w = 0; w < warm; w++) await x.client.enqueue(JOB_TYPE, payload(x.i++), { queue: "seq" });
  console.log(JSON.stringify({ warmedUp: warm }));
  const perf = perfOut ? spawn("perf", ["record", "-F", "1999", "-g", "-p", String(sides[0]!.pid), "-o", perfOut], { stdio: "ignore" }) : undefined;
  if (perf) await new Promise((r) => setTimeout(r, 1000));
  for (let r = 0; r < rounds; r++) {
    for (const x of r % 2 ? [...sides].reverse() : sides) {
      const s0 = threadsCpuNs(x.pid);
      const [u0, k0] = userSysUs(x.pid);
      const db0 = clusterCpuUs(cluster.pid()) ?? 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const took = new Float64Array(calls);
      for (let n = 0; n < calls; n++) {
        const t = performance.now();
        await x.client.enqueue(JOB_TYPE, payload(x.i++), { queue: "seq" });
        took[n] = performance.now() - t;
      }
      const ms = performance.now() - t0;
      const sorted = took.slice().sort();
      const c = process.cpuUsage(c0);
      const [u1, k1] = userSysUs(x.pid);
      const row = {
        callsPerSec: Math.round(calls / (ms / 1000)),
        serverUsPerCall: +((threadsCpuNs(x.pid) - s0) / 1000 / calls).toFixed(1),
        serverUserUs: Math.round((u1 - u0) / calls),
        serverSysUs: Math.round((k1 - k0) / calls),
        clusterUsPerCall: Math.round(((clusterCpuUs(cluster.pid()) ?? 0) - db0) / calls),
        clientUsPerCall: +((c.user + c.system) / calls).toFixed(1),
        p50Us: Math.round(sorted[calls >> 1]! * 1000),
        p99Us: Math.round(sorted[Math.floor(calls * 0.99)]! * 1000),
      };
      x.rounds.push(row);
      console.log(JSON.stringify({ server: x.name, round: r + 1, ...row }));
    }
  }
  if (perf) {
    perf.kill("SIGINT");
    await new Promise((r) => perf.once("exit", r));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  for (const x of sides) {
    const keys = Object.keys(x.rounds[0] ?? {});
    console.log(JSON.stringify({ server: x.name, median: true, ...Object.fromEntries(keys.map((k) => [k, median(x.rounds.map((row) => row[k]!))])) }));
  }
} finally {
  for (const x of sides) await x.client.close();
  for (const x of sides) await x.server.stop();
  await cluster.stop();
}
