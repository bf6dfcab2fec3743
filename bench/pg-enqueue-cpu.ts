/**
 * npx tsx bench/pg-enqueue-cpu.ts [--n=1500] [--maintenance-ms=250] [--root=/tmp/pg-base]
 *
 * Where the CPU of a sequential enqueue on the PostgreSQL store goes, process
 * by process: each backend of the private cluster (named by what it last ran:
 * the enqueue pool, the LISTEN connection, the maintenance pass) and each
 * thread of this process (the main thread, V8's helpers). Times are the
 * scheduler's own (/proc/.../schedstat: nanoseconds on a CPU), not ticks, so
 * they hold up better than rates on a shared machine. --root runs the store of
 * another checkout (a base commit, for A/B: run both, alternating). Linux only.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import postgres from "postgres";

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(arg("n", "1500"));
const root = resolve(arg("root", "."));
const maintenanceIntervalMs = Number(arg("maintenance-ms", "250"));

interface StoreModule {
  PgJobStore: {
    open(
      url: string,
      o: { maintenanceIntervalMs: number },
    ): Promise<{ submit(r: { type: string; args: unknown[]; queue: string }): Promise<unknown>; close(): Promise<void> }>;
  };
}
const { PgJobStore } = (await import(`${root}/src/server/store/postgres/pg-store.ts`)) as StoreModule;
const { startPostgres } = (await import(`${root}/test/support/postgres.ts`)) as typeof import("../test/support/postgres.js");

/** Nanoseconds on a CPU so far of each process (or thread) listed. */
function onCpu(dir: string, ids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of ids) {
    try {
      out.set(id, Number(readFileSync(`${dir}/${id}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function children(ppid: number): string[] {
  return readdirSync("/proc").filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]) === ppid;
    } catch {
      return false;
    }
  });
}

const cluster = await startPostgres({ durable: true });
const admin = postgres(cluster.url, { max: 1, onnotice: () => undefined });
try {
  const store = await PgJobStore.open(cluster.url, { maintenanceIntervalMs });
  for (let i = 0; i < 300; i++) await store.submit({ type: "bench", args: [i], queue: "seq" });
  const backends = [String(cluster.pid()), ...children(cluster.pid())];
  const threads = readdirSync("/proc/self/task");
  const [pg0, node0] = [onCpu("/proc", backends), onCpu("/proc/self/task", threads)];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await store.submit({ type: "bench", args: [i], queue: "seq" });
  const secs = (performance.now() - t0) / 1000;
  const [pg1, node1] = [onCpu("/proc", backends), onCpu("/proc/self/task", threads)];
  const ran = new Map(
    (
      await admin<
        { pid: number; what: string }[]
      >`SELECT pid, coalesce(nullif(application_name, ''), backend_type) || ': ' || left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 60) AS what FROM pg_stat_activity`
    ).map((r) => [String(r.pid), r.what]),
  );
  const perOp = (a: Map<string, number>, b: Map<string, number>, id: string) => ((b.get(id) ?? 0) - (a.get(id) ?? 0)) / 1000 / N;
  let pgTotal = 0;
  let nodeTotal = 0;
  for (const id of backends) {
    const us = perOp(pg0, pg1, id);
    pgTotal += us;
    if (us >= 1)
      console.log(
        `${us.toFixed(0).padStart(6)} µs  PostgreSQL ${id === String(cluster.pid()) ? "postmaster" : (ran.get(id) ?? readFileSync(`/proc/${id}/cmdline`, "utf8").replace(/\0/g, " ").trim())}`,
      );
  }
  for (const id of threads) {
    const us = perOp(node0, node1, id);
    nodeTotal += us;
    if (us >= 1)
      console.log(
        `${us.toFixed(0).padStart(6)} µs  this process, thread ${id === String(process.pid) ? "main" : `${id} (${readFileSync(`/proc/self/task/${id}/comm`, "utf8").trim()})`}`,
      );
  }
  console.log(`${root}: ${Math.round(N / secs)} enqueues/s; per enqueue ${pgTotal.toFixed(0)} µs PostgreSQL, ${nodeTotal.toFixed(0)} µs this process`);
  await store.close();
} finally {
  await admin.end();
  await cluster.stop();
}
