/**
 * Where a journal start-up's CPU goes, run by hand (not by bench/run.ts):
 *
 *   node --import tsx bench/restart-probe.ts fill <dir> <n>    fill a journal of n queued jobs and exit
 *   node --import tsx bench/restart-probe.ts start <dir>       a fresh process starts a server on it (a real restart)
 *   node --import tsx bench/restart-probe.ts inproc <n> [gc]   what bench/journal-restart.ts measures: fill, close,
 *                                                              start again in the same process ("gc": collect between)
 *
 * Prints one JSON line: wall and CPU of startServer(), the CPU of the main
 * thread against the process's other threads (the collector's helpers), the
 * collections V8 ran during it (count and ms by kind) and the heap after.
 * "inproc gc" needs --expose-gc.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { normalizeJobRequest } from "../src/model/schemas.js";
import { startServer } from "../src/server/index.js";
import { serverCore } from "../src/server/internal.js";

const NO_COMPACTION = 4 * 1024 ** 3;
const TICK_MS = 1000 / 100; // USER_HZ on Linux

/** utime + stime of each thread of this process, in ms (Linux /proc). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
      out.set(tid, (Number(rest[11]) + Number(rest[12])) * TICK_MS);
    } catch {
      // a thread that ended in between
    }
  }
  return out;
}

async function fill(dir: string, n: number): Promise<void> {
  const server = await startServer({ dataDir: dir, fsync: "none", journalCompactAtBytes: NO_COMPACTION });
  const batch = Array.from({ length: 1000 }, (_, i) => ({ req: normalizeJobRequest({ type: "bench.job", args: [{ i }], options: { queue: "restart" } }) }));
  for (let i = 0; i < n / 1000; i++) {
    serverCore(server).store.enqueueBatch(batch);
    await serverCore(server).durable();
  }
  await server.close();
}

async function start(dir: string): Promise<Record<string, unknown>> {
  const gcs: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  obs.observe({ entryTypes: ["gc"] });
  const main = String(process.pid);
  const t0c = threadCpu();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const server = await startServer({ dataDir: dir, journalCompactAtBytes: NO_COMPACTION });
  const startMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const t1c = threadCpu();
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  let mainMs = 0;
  let otherMs = 0;
  for (const [tid, ms] of t1c) tid === main ? (mainMs += ms - (t0c.get(tid) ?? 0)) : (otherMs += ms - (t0c.get(tid) ?? 0));
  const kinds: Record<string, { n: number; ms: number }> = {};
  for (const e of gcs) {
    if (e.startTime < t0 || e.startTime > t1) continue;
    const k = String((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? "?");
    const name = { "1": "scavenge", "2": "markCompact", "4": "incremental", "8": "weakCb" }[k] ?? k;
    (kinds[name] ??= { n: 0, ms: 0 }).n++;
    kinds[name].ms += e.duration;
  }
  for (const k of Object.values(kinds)) k.ms = Math.round(k.ms);
  const jobs = serverCore(server).store.countByState("restart").available;
  const heapMB = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  await server.close();
  const ms = (us: number) => Math.round(us / 1000);
  return {
    jobs,
    startMs: Math.round(startMs),
    cpuMs: ms(cpu.user + cpu.system),
    userMs: ms(cpu.user),
    sysMs: ms(cpu.system),
    mainMs,
    otherMs,
    gc: kinds,
    heapMB,
  };
}

const [mode, a, b] = process.argv.slice(2);
if (mode === "fill") {
  mkdirSync(a!, { recursive: true });
  await fill(a!, Number(b));
} else if (mode === "start") {
  console.log(JSON.stringify(await start(a!)));
} else if (mode === "inproc") {
  const dir = mkdtempSync(join(os.tmpdir(), "ojs-probe-"));
  try {
    await fill(dir, Number(a));
    if (b === "gc") (globalThis as { gc?: () => void }).gc!();
    console.log(JSON.stringify(await start(dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.error("usage: restart-probe.ts fill <dir> <n> | start <dir> | inproc <n> [gc]");
  process.exit(2);
}
