/**
 * Start-up time of a server on a journal of `n` queued jobs: the journal is
 * filled in this process (fsync off, compaction held off so that the whole
 * history is replayed), the server closed, and a new one started on the same
 * directory: replay, and any compaction it does at open, are in the figure.
 *
 * Imported by bench/journal.ts; forked by bench/run.ts as a child
 * (`journal-restart.ts <n> [profile file]`), so that a million jobs in memory do not weigh on
 * the orchestrator, and so that `--profile` can profile the start-up.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { normalizeJobRequest } from "../src/model/schemas.js";
import { startServer } from "../src/server/index.js";
import { serverCore } from "../src/server/internal.js";
import { phase, runChild } from "./common.js";

export interface RestartResult {
  jobs: number;
  journalBytes: number;
  /** Filling the journal (not part of the figure). */
  fillSec: number;
  /** startServer() on the filled directory until it resolves. */
  startMs: number;
  /** CPU time (user + system, every thread of the process) of that start: unlike startMs, it hardly moves with the machine's load. */
  startCpuMs?: number;
}

const NO_COMPACTION = 4 * 1024 ** 3;

/** Runs `work` under the V8 profiler of this process, writing `file` (a .cpuprofile): only the start-up, not the filling. */
async function profiled<T>(file: string | undefined, work: () => Promise<T>): Promise<T> {
  if (!file) return work();
  const session = new Session();
  session.connect();
  const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res))));
  await post("Profiler.enable");
  await post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = (await post("Profiler.stop")) as { profile: object };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

/** `profileTo`: also write a CPU profile of the start-up alone there. */
export async function restart(n: number, profileTo?: string): Promise<RestartResult> {
  const dir = mkdtempSync(join(os.tmpdir(), "ojs-bench-journal-"));
  try {
    const f0 = performance.now();
    let server = await startServer({ dataDir: dir, fsync: "none", journalCompactAtBytes: NO_COMPACTION });
    const batch = Array.from({ length: 1000 }, (_, i) => ({ req: normalizeJobRequest({ type: "bench.job", args: [{ i }], options: { queue: "restart" } }) }));
    for (let i = 0; i < n / 1000; i++) {
      serverCore(server).store.enqueueBatch(batch);
      await serverCore(server).durable();
    }
    const journalBytes = serverCore(server).journal!.stats.bytes;
    await server.close();
    const fillSec = (performance.now() - f0) / 1000;
    (globalThis as { gc?: () => void }).gc?.();
    phase("start");
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    server = await profiled(profileTo, () => startServer({ dataDir: dir, journalCompactAtBytes: NO_COMPACTION }));
    const startMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const startCpuMs = (cpu.user + cpu.system) / 1000;
    phase("end");
    const jobs = serverCore(server).store.countByState("restart").available;
    await server.close();
    return { jobs, journalBytes, fillSec, startMs, startCpuMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.send) {
  await runChild(() => restart(Number(process.argv[2]), process.argv[3]));
}
