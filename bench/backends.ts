/**
 * The thing under the SDK, seen from the orchestrator: an embedded OJS server
 * process, or a Redis. One per system for the whole run, emptied between
 * scenarios; both can say how many jobs of a queue they count as completed.
 */
import { readFileSync } from "node:fs";
import type { DriverName } from "./common.js";
import type { RedisCtor } from "./deps.js";
import { forkScript, type ForkOptions } from "./procs.js";

export interface Backend {
  /** What the SDK connects to. */
  target: string;
  /** The backend's process, for its CPU time. */
  pid: number | undefined;
  /** CPU time (µs) of the PostgreSQL cluster under the backend, for systems on PostgreSQL. */
  dbCpuUs?(): number | undefined;
  /** Jobs of `queue` the backend counts as completed (`queued`: how many were queued, for backends that delete finished jobs). */
  completed(queue: string, queued: number): Promise<number>;
  /** Drops every job, so that each scenario starts from an empty backend. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded server in its own process; `fastPath` false: a standard ojs.v1
 * server (startServer's option); `args`: its store (`--data-dir=`, `--store=`).
 */
export async function ojsBackend(profile?: ForkOptions["profile"], fastPath = true, args: string[] = []): Promise<Backend> {
  const child = forkScript("server.ts", [...args, ...(fastPath ? [] : ["--no-fast-path"])], profile ? { profile } : {});
  const { url } = await child.next<{ url: string }>("ready", 30_000);
  return {
    target: url,
    pid: child.proc.pid,
    async completed(queue) {
      const result = child.next<Record<string, number>>("result", 30_000);
      child.send({ cmd: "counts", queue });
      return (await result).completed ?? 0;
    },
    async reset() {
      const done = child.next("result", 30_000);
      child.send({ cmd: "reset" });
      await done;
    },
    close: () => child.stop(),
  };
}

export async function redisBackend(url: string, pid: number | undefined, Redis: RedisCtor): Promise<Backend> {
  const { Queue } = await import("bullmq");
  return {
    target: url,
    pid,
    async completed(queue) {
      const conn = new Redis(url, { maxRetriesPerRequest: null });
      const q = new Queue(queue, { connection: conn as never });
      const counts = await q.getJobCounts("completed");
      await q.close();
      conn.disconnect();
      return counts.completed ?? 0;
    },
    async reset() {
      const conn = new Redis(url);
      await conn.flushall();
      await conn.quit();
    },
    close: async () => {},
  };
}

/** CPU time (user + system) of another process so far, in µs, from /proc; undefined where there is none. */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;

export const LABEL: Record<DriverName, string> = {
  grpc: "OJS gRPC",
  http: "OJS HTTP",
  bullmq: "BullMQ",
  "grpc-standard": "OJS gRPC, standard methods",
  "ojs-journal": "OJS gRPC, journal store (fsync always)",
  "ojs-postgres": "OJS gRPC, PostgreSQL store",
  "bullmq-aof": "BullMQ, Redis appendfsync always",
  "graphile-worker": "graphile-worker",
  "pg-boss": "pg-boss",
};
