/**
 * What an idle server on the PostgreSQL store costs, this checkout against
 * another (`--base=DIR`, a base commit): a private durable cluster, each server
 * in its own process (bench/server.ts --store=...) on its own database, one
 * enqueue each (so the queue exists and the pools are open; `--jobs=N` enqueues
 * N, so that ojs_jobs and ojs_events are not empty), then `--windows`
 * windows of `--seconds` with no calls at all. Both servers idle through the
 * same windows, so every window is a pair under the same machine load. Per
 * window and server: the process's CPU (all its threads, schedstat: ns on a
 * CPU) and user+system ticks (/proc/<pid>/stat), and the CPU of the backends
 * serving its database (schedstat of the pids pg_stat_activity lists for it).
 * `--count` turns on `log_statement = 'all'` and adds the statements per second
 * each server sent, and those of them that read ojs_events; the logging costs
 * CPU in the cluster, so the CPU figures come from runs without it.
 *
 *   npx tsx bench/pg-idle.ts --base=DIR [--windows=3] [--seconds=20] [--settle=5] [--jobs=1] [--count]
 */
import { readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { Client } from "../src/index.js";
import { JOB_TYPE, payload } from "./common.js";
import { loadAverage } from "./machine.js";
import { forkScript, installExitHandlers } from "./procs.js";
import { onCpuNs, threadsCpuNs } from "./schedstat.js";
import { startPostgres } from "../test/support/postgres.js";

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const num = (name: string, dflt: number) => Number(flag(name) ?? dflt);
const baseDir = flag("base");
const windows = num("windows", 3);
const seconds = num("seconds", 20);
const settleS = num("settle", 5);
const count = process.argv.includes("--count");
const jobs = num("jobs", 1);

/** User + system CPU of `pid` in µs (clock ticks of 10 ms). */
function ticksUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/** The log's entries: a line with a prefix "<db> " and the lines that follow it without one. */
function statements(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split("\n")) {
    if (/^<[^>]*> /.test(line) || out.length === 0) out.push(line);
    else out[out.length - 1] += `\n${line}`;
  }
  return out;
}

installExitHandlers();
const cluster = await startPostgres({
  durable: true,
  settings: count ? ["log_statement = 'all'", "log_line_prefix = '<%d> '"] : [],
});
const logFile = join(cluster.dir, "log");
const admin = postgres(`${cluster.url.replace(/\/[^/]*$/, "")}/postgres`, { max: 1, onnotice: () => undefined });
interface Side {
  name: string;
  db: string;
  server: ReturnType<typeof forkScript>;
  pid: number;
  client: Client;
  windows: Array<Record<string, number>>;
}
const sides: Side[] = [];
try {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const trees: Array<[string, string]> = [["this", "server.ts"]];
  if (baseDir) trees.push(["base", relative(here, resolve(baseDir, "bench/server.ts"))]);
  for (const [name, script] of trees) {
    const db = `idle_${name}`;
    const url = await cluster.createDatabase(db);
    const server = forkScript(script, [`--store=${url}`]);
    const { url: serverUrl } = await server.next<{ url: string }>("ready", 60_000);
    const side: Side = { name, db, server, pid: server.proc.pid!, client: new Client({ url: serverUrl, transport: "grpc" }), windows: [] };
    sides.push(side);
    for (let i = 0; i < jobs; i += 500)
      await side.client.enqueueBatch(
        Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ type: JOB_TYPE, args: payload(i + k), options: { queue: "idle" } })),
      );
  }
  await new Promise((r) => setTimeout(r, settleS * 1000));
  const backends = async (db: string) => (await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${db}`).map((r) => r.pid);
  for (let w = 0; w < windows; w++) {
    const load = loadAverage()[0]!;
    const pids = await Promise.all(sides.map((x) => backends(x.db)));
    const logAt = count ? statSync(logFile).size : 0;
    const at = sides.map((x, i) => ({ cpu: threadsCpuNs(x.pid), ticks: ticksUs(x.pid), db: onCpuNs(pids[i]!) }));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const secs = (performance.now() - t0) / 1000;
    const log = count ? readFileSync(logFile).subarray(logAt).toString("utf8") : "";
    for (const [i, x] of sides.entries()) {
      const row: Record<string, number> = {
        load,
        serverUsPerSec: Math.round((threadsCpuNs(x.pid) - at[i]!.cpu) / 1000 / secs),
        serverTicksUsPerSec: Math.round((ticksUs(x.pid) - at[i]!.ticks) / secs),
        backendsUsPerSec: Math.round((onCpuNs(pids[i]!) - at[i]!.db) / 1000 / secs),
        backends: pids[i]!.length,
      };
      if (count) {
        // A statement is a line "<db> LOG:  statement: ..." (simple protocol) or "<db> LOG:  execute <name>: ..." (extended),
        // and the lines after it without a prefix (its text's line breaks).
        const mine = statements(log).filter((st) => st.startsWith(`<${x.db}> LOG:  statement: `) || st.startsWith(`<${x.db}> LOG:  execute `));
        row.statementsPerSec = +(mine.length / secs).toFixed(2);
        row.probesPerSec = +(mine.filter((st) => st.includes(" AS limited")).length / secs).toFixed(2);
        // The event feed's own statements: every other one that reads ojs_events, but the trim (DELETE).
        const feed = mine.filter((st) => !st.includes(" AS limited") && st.includes("FROM ojs_events") && !st.includes("DELETE FROM ojs_events"));
        row.eventFeedPerSec = +(feed.length / secs).toFixed(2);
        // What the rest is: statements by their first words, per second.
        const kinds = new Map<string, number>();
        for (const st of mine) {
          const text = st
            .replace(/^<[^>]*> LOG: {2}(statement|execute [^:]*): /, "")
            .replace(/\s+/g, " ")
            .slice(0, 70);
          kinds.set(text, (kinds.get(text) ?? 0) + 1);
        }
        const top = [...kinds].sort((p, q) => q[1] - p[1]).map(([k, n]) => `${(n / secs).toFixed(1)}/s ${k}`);
        console.log(JSON.stringify({ server: x.name, window: w + 1, statements: top }));
      }
      x.windows.push(row);
      console.log(JSON.stringify({ server: x.name, window: w + 1, seconds: +secs.toFixed(2), ...row }));
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  for (const x of sides) {
    const keys = Object.keys(x.windows[0] ?? {});
    console.log(JSON.stringify({ server: x.name, median: true, ...Object.fromEntries(keys.map((k) => [k, median(x.windows.map((r) => r[k]!))])) }));
  }
} finally {
  await admin.end({ timeout: 1 });
  for (const x of sides) await x.client.close();
  for (const x of sides) await x.server.stop();
  await cluster.stop();
}
