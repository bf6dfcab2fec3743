/**
 * The server's side of a worker drain on the journal store, for A/B of the
 * journal's per-job cost: one Worker (concurrency 50, no-op handler) drains
 * jobs queued beforehand, as bench/worker-drain.ts does, and this reports per
 * drained job the server's CPU (user and system apart), the journal records
 * and bytes the drain wrote (read back from the file), and optionally a V8
 * CPU profile of the server over the drain alone (not the enqueues).
 *
 *   npx tsx bench/journal-drain.ts [--roots=/tmp/base,.] [--pairs=3] [--rounds=3] [--jobs=30000] [--server=journal|memory] [--profile=DIR] [--strace=FILE] [--perf=FILE]
 *
 * --roots: trees to load the server and worker from, run in alternation
 * (base, change, base, change, ...) --pairs times each; every run is a fresh
 * server process whose first round is a warm-up and is not counted. The
 * medians per tree are printed at the end. Linux or not: CPU comes from
 * process.cpuUsage() of the server (every thread, libuv's pool included).
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { drainWorker, serverChild } from "./drain-children.js";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const me = fileURLToPath(import.meta.url);
const role = process.argv[2];

interface Round {
  root: string;
  rate: number;
  worker: number;
  user: number;
  sys: number;
  records: number;
  bytes: number;
}

if (role === "server") await server();
else if (role === "worker") await drainWorker(arg("root")!, arg("url")!, arg("queue")!, Number(arg("jobs")));
else await main();

/** Records and bytes of the journal in `dir` from byte `from` on (up to the spare space's zeros). */
function journalFrom(dir: string, root: string, from: number): Promise<{ end: number; records: number }> {
  return import(resolve(root, "src/server/store/journal/records.ts")).then((m: typeof import("../src/server/store/journal/records.js")) => {
    const name = readdirSync(dir).find((f) => /^journal-\d{8}\.log$/.test(f))!;
    const buf = readFileSync(join(dir, name));
    let records = 0;
    let last = 0;
    const end = m.scanFrames(buf, (_b, start, stop) => {
      if (start >= from) records++;
      last = stop;
      return undefined;
    });
    return { end: end.kind === "clean" ? buf.length : "offset" in end ? end.offset : last, records };
  });
}

async function server(): Promise<void> {
  const root = arg("root")!;
  const { startServer } = (await import(resolve(root, "src/server/index.ts"))) as typeof import("../src/server/index.js");
  const journal = arg("server") !== "memory";
  const dataDir = journal ? mkdtempSync(join(tmpdir(), "ojs-jdrain-")) : undefined;
  const s = await startServer({ port: 0, ...(dataDir ? { dataDir } : {}) });
  const profileDir = arg("profile");
  const session = profileDir ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
  }
  // --strace=FILE: system calls of the server over each drain (strace -c -f), FILE.<pid>.<round>.
  const straceTo = arg("strace");
  // --perf=FILE: `perf record -g` of the server over each drain (the server runs with --perf-basic-prof), FILE.<pid>.<round>.
  const perfTo = arg("perf");
  let tracer: ChildProcess | undefined;
  let c0 = process.cpuUsage();
  let at = 0;
  let tag = 0;
  process.send!(s.url);
  process.on("message", (m: string) => {
    void (async () => {
      if (m === "begin") {
        at = dataDir ? (await journalFrom(dataDir, root, 0)).end : 0;
        if (session) await session.post("Profiler.start");
        if (straceTo) {
          tracer = spawn("strace", ["-c", "-f", "-p", String(process.pid), "-o", `${straceTo}.${process.pid}.${tag}`], { stdio: "ignore" });
          await new Promise((r) => setTimeout(r, 500));
        }
        if (perfTo) {
          tracer = spawn("perf", ["record", "-F", "1999", "-g", "-p", String(process.pid), "-o", `${perfTo}.${process.pid}.${tag}`], { stdio: "ignore" });
          await new Promise((r) => setTimeout(r, 500));
        }
        c0 = process.cpuUsage();
        process.send!("ok");
      } else if (m === "end") {
        const cpu = process.cpuUsage(c0);
        if (tracer) {
          const t = tracer;
          tracer = undefined;
          // perf may have ended already (its "exit" then came and went).
          if (t.exitCode === null && t.signalCode === null) await new Promise((r) => (t.once("exit", r), t.kill("SIGINT")));
          if (!session) tag++;
        }
        if (session) {
          const { profile } = await session.post("Profiler.stop");
          writeFileSync(join(profileDir!, `server-${process.pid}-${tag++}.cpuprofile`), JSON.stringify(profile));
        }
        const j = dataDir ? await journalFrom(dataDir, root, at) : { end: at, records: 0 };
        process.send!({ user: cpu.user, sys: cpu.system, records: j.records, bytes: j.end - at });
      } else if (m === "stop") {
        await s.close();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      }
    })();
  });
}

/** One server process of `root`: `rounds` drains, the first one a warm-up. */
async function run(root: string, n: number, rounds: number): Promise<Round[]> {
  const kind = arg("server") ?? "journal";
  const extra = ["profile", "strace", "perf"].flatMap((k) => (arg(k) ? [`--${k}=${arg(k)}`] : []));
  const execArgv = arg("perf") ? [...process.execArgv, "--perf-basic-prof"] : process.execArgv;
  const srv = fork(me, ["server", `--root=${root}`, `--server=${kind}`, ...extra], { execArgv, stdio: "inherit" });
  const { url, ask, stop } = await serverChild(srv);
  const { Client } = (await import(resolve(root, "src/index.ts"))) as typeof import("../src/index.js");
  const client = new Client({ url, transport: "grpc", logger: false });
  const out: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const queue = `drain-${r}`;
    for (let i = 0; i < n; i += 1_000)
      await client.enqueueBatch(Array.from({ length: Math.min(1_000, n - i) }, () => ({ type: "bench.noop", args: [1], options: { queue } })));
    await ask("begin");
    const w = fork(me, ["worker", `--root=${root}`, `--url=${url}`, `--queue=${queue}`, `--jobs=${n}`], { execArgv: process.execArgv, stdio: "inherit" });
    // Watched from the start: the worker may be gone before the server has answered "end".
    const exited = new Promise((ok) => w.once("exit", ok));
    const got = await new Promise<{ seconds: number; cpu: number }>((ok) => w.once("message", (m) => ok(m as { seconds: number; cpu: number })));
    const s = await ask<{ user: number; sys: number; records: number; bytes: number }>("end");
    await exited;
    const round: Round = { root, rate: n / got.seconds, worker: got.cpu / n, user: s.user / n, sys: s.sys / n, records: s.records / n, bytes: s.bytes / n };
    console.log(
      `${r === 0 ? "(warm-up) " : ""}${root}: ${Math.round(round.rate)} jobs/s, worker ${round.worker.toFixed(1)} µs, server ${(round.user + round.sys).toFixed(1)} µs ` +
        `(user ${round.user.toFixed(1)}, sys ${round.sys.toFixed(1)}), ${round.records.toFixed(2)} records and ${Math.round(round.bytes)} bytes per job`,
    );
    if (r > 0) out.push(round);
  }
  await client.close();
  await stop();
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const roots = (arg("roots") ?? fileURLToPath(new URL("..", import.meta.url))).split(",").map((r) => resolve(r));
  const pairs = Number(arg("pairs") ?? 1);
  const rounds = Math.max(2, Number(arg("rounds") ?? 3));
  const n = Number(arg("jobs") ?? 30_000);
  const all: Round[] = [];
  for (let p = 0; p < pairs; p++) for (const root of roots) all.push(...(await run(root, n, rounds)));
  console.log("\nmedians per tree (measured rounds only):");
  for (const root of roots) {
    const rs = all.filter((r) => r.root === root);
    const m = (f: (r: Round) => number) => median(rs.map(f));
    console.log(
      `${root}: ${rs.length} rounds, ${Math.round(m((r) => r.rate))} jobs/s, server ${m((r) => r.user + r.sys).toFixed(1)} µs (user ${m((r) => r.user).toFixed(1)}, sys ${m((r) => r.sys).toFixed(1)}), ` +
        `worker ${m((r) => r.worker).toFixed(1)} µs, ${m((r) => r.records).toFixed(2)} records and ${Math.round(m((r) => r.bytes))} bytes per job`,
    );
  }
}
