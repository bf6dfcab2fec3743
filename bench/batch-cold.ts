/**
 * The quick run's enqueueBatch, cold, in many fresh process pairs: each run starts a server
 * process (memory store, fast path) and a client process, and the client does exactly what the
 * bench's enqueue scenario does with QUICK sizes (500 warm-up enqueues, 300 sequential, 1 000 from
 * 32 callers, one warm-up batch, then 5 timed batches of 1 000 built beforehand). Per run it prints
 * each timed batch's wall time and, per process, CPU per job (the main thread and V8's helper
 * threads apart), scavenges and mark-compacts; the summary gives medians over the runs, the quick
 * figure (5 000 jobs over the five batches' wall time) among them.
 *
 * `--base=DIR` alternates another checkout (its server and its bench driver) with this one, run by
 * run. `--plain` snapshots only around the five batches, back to back as in the bench (else both
 * processes are snapshotted between batches: two IPC round trips there). `--diag` starts both
 * processes with --trace-gc-nvp --trace-opt --trace-deopt and counts, per batch, the bytes the
 * collector saw, the functions TurboFan finished (and OSR entries) and the deopts, by name.
 * `--after=N` runs N more batches in the same processes (warm figures beside the cold ones).
 * `--profile=DIR` writes both processes' CPU profiles of the five batches (100 µs sampling).
 * `--node-flag=F` (repeatable) adds a V8 flag to both processes, `--server-flag=F` to the server only.
 * `--raw=DIR` keeps each process's stdout (the trace lines and section markers) in DIR.
 *
 *   npx tsx bench/batch-cold.ts [--runs=5] [--base=DIR] [--plain] [--diag] [--after=0] [--profile=DIR] [--node-flag=F] [--server-flag=F]
 */
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import type { Mark, Snap, ToParent } from "./batch-cold-child.js";
import { DiagTally, emptyDiag, median } from "./batch-cold-diag.js";

const argv = process.argv.slice(2);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(opt("runs") ?? 5);
const after = Number(opt("after") ?? 0);
const base = opt("base");
const plain = argv.includes("--plain");
const diag = argv.includes("--diag");
const profile = opt("profile");
const rawDir = opt("raw");
const flags = (name: string) => argv.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
const nodeFlags = [...flags("node-flag"), ...(diag ? ["--trace-gc-nvp", "--trace-opt", "--trace-deopt"] : [])];
const here = fileURLToPath(new URL(".", import.meta.url));
const thisRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const JOBS = 5_000;

interface Run {
  tree: string;
  /** The quick figure: jobs of the five batches over their wall time. */
  jobsPerSec: number;
  walls: number[];
  /** Per job over the five batches, µs: [client, server] each. */
  cpu: [number, number];
  main: [number, number];
  other: [number, number];
  scavenges: [number, number];
  markCompacts: [number, number];
  gcMs: [number, number];
  sections: Array<{ label: string; ms: number; client: Snap; server: Snap }>;
  diag?: { client: Map<string, DiagTally>; server: Map<string, DiagTally> };
}

/** Trace lines of one process, by the section whose end marker follows them (and all of them to `raw`, if given). */
function sectioned(p: ChildProcess, into: Map<string, DiagTally>, raw?: string): void {
  let pending = emptyDiag();
  const file = raw ? createWriteStream(raw) : undefined;
  createInterface({ input: p.stdout! }).on("line", (line) => {
    file?.write(line + "\n");
    if (line.startsWith("@@ ")) {
      into.set(line.slice(3), pending);
      pending = emptyDiag();
    } else pending.add(line);
  });
}

async function runOnce(tree: string, root: string, name: string): Promise<Run> {
  const spawn = (args: string[], extra: string[]) =>
    fork(here + "batch-cold-child.ts", [...args, `--root=${root}`], {
      execArgv: ["--import", "tsx", ...nodeFlags, ...extra],
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
  const traces = { client: new Map<string, DiagTally>(), server: new Map<string, DiagTally>() };
  const server = spawn(["--server", ...(profile ? [`--profile=${profile}`] : [])], flags("server-flag"));
  sectioned(server, traces.server, rawDir && `${rawDir}/${name}-server.txt`);
  const url = await new Promise<string>((resolve) => server.on("message", (m: ToParent) => m.type === "ready" && resolve(m.url)));
  const clientArgs = [
    "--client",
    `--url=${url}`,
    `--name=${name}`,
    `--after=${after}`,
    ...(plain ? ["--plain"] : []),
    ...(profile ? [`--profile=${profile}`] : []),
  ];
  const client = spawn(clientArgs, []);
  sectioned(client, traces.client, rawDir && `${rawDir}/${name}-client.txt`);
  server.on("message", (m: ToParent) => m.type === "snap" && client.send({ type: "server-snap", id: m.id, snap: m.snap }));
  const result = await new Promise<{ marks: Mark[]; walls: number[]; allMs: number }>((resolve, reject) => {
    client.on("exit", (code) => reject(new Error(`client exited (${String(code)}) before its marks`)));
    client.on("message", (m: ToParent) => {
      if (m.type === "ask") server.send({ cmd: "snap", id: m.id, label: m.label });
      if (m.type === "profile") server.send({ cmd: "profile", on: m.on, name: m.name });
      if (m.type === "marks") resolve(m);
    });
  });
  await new Promise((r) => (client.once("exit", r), client.kill()));
  await new Promise((r) => (server.once("exit", r), server.send({ cmd: "stop" })));
  const { marks, walls, allMs } = result;
  const from = marks.find((m) => m.label === "prepared")!;
  const to = marks.find((m) => m.label === (plain ? "batches" : "batch 5"))!;
  const per = (f: (s: Snap) => number): [number, number] => [
    +((f(to.client) - f(from.client)) / JOBS).toFixed(2),
    +((f(to.server) - f(from.server)) / JOBS).toFixed(2),
  ];
  const count = (f: (s: Snap) => number): [number, number] => [f(to.client) - f(from.client), f(to.server) - f(from.server)];
  const gcMs = count((s) => s.minorMs + s.majorMs);
  return {
    tree,
    jobsPerSec: Math.round(JOBS / (allMs / 1000)),
    walls: walls.map((w) => +w.toFixed(2)),
    cpu: per((s) => s.cpuUs),
    main: per((s) => s.mainUs),
    other: per((s) => s.otherUs),
    scavenges: count((s) => s.minor),
    markCompacts: count((s) => s.major),
    gcMs: [+gcMs[0].toFixed(2), +gcMs[1].toFixed(2)],
    sections: marks,
    ...(diag ? { diag: traces } : {}),
  };
}

/** Per batch: wall ms, then per job (µs) each process's main thread + its other threads. */
function perBatch(r: Run): string {
  const rows: string[] = [];
  for (let k = 1; k < r.sections.length; k++) {
    const [a, b] = [r.sections[k - 1]!, r.sections[k]!];
    if (!/^(warm-up|batch|later)/.test(b.label)) continue;
    const us = (f: (s: Snap) => number, side: "client" | "server") => ((f(b[side]) - f(a[side])) / 1000).toFixed(1);
    const gc = (side: "client" | "server") => `${b[side].minor - a[side].minor}s${b[side].major - a[side].major}m`;
    rows.push(
      `${b.label}: ${b.ms.toFixed(1)} ms, client ${us((s) => s.mainUs, "client")}+${us((s) => s.otherUs, "client")} ${gc("client")}, server ${us((s) => s.mainUs, "server")}+${us((s) => s.otherUs, "server")} ${gc("server")}`,
    );
  }
  return rows.join(" | ");
}

function printRun(r: Run): void {
  const { sections: _s, diag: _d, ...line } = r;
  console.log(JSON.stringify(line));
  if (!plain) console.log(`  ${perBatch(r)}`);
  if (!r.diag) return;
  const labels = [...r.diag.client.keys()].filter((l) => l.startsWith("batch") || l.startsWith("warm-up") || l === "singles");
  for (const l of labels) {
    const c = r.diag.client.get(l)!;
    const s = r.diag.server.get(l) ?? emptyDiag();
    console.log(`  ${l.padEnd(14)} client ${c.summary()}\n  ${"".padEnd(14)} server ${s.summary()}`);
  }
}

const laterOf = (r: Run) => r.sections.filter((s) => s.label.startsWith("later"));
/** CPU per job (µs) of one side over the `--after` batches, from the last timed batch's snapshot to the last. */
function laterCpu(r: Run, side: "client" | "server"): number {
  const later = laterOf(r);
  const from = r.sections[r.sections.indexOf(later[0]!) - 1]!;
  return (later[later.length - 1]![side].cpuUs - from[side].cpuUs) / (later.length * 1_000);
}

const trees = base ? [["base", base] as const, ["this", thisRoot] as const] : [["this", thisRoot] as const];
const all: Run[] = [];
const load0 = loadavg()[0]!;
for (let k = 0; k < runs; k++) {
  const order = k % 2 === 0 ? trees : [...trees].reverse();
  for (const [tree, root] of order) {
    const r = await runOnce(tree, root, `${tree}-${k + 1}`);
    all.push(r);
    printRun(r);
  }
}
console.log(
  `load average ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; ${plain ? "plain (no snapshots between batches)" : "snapshots between batches"}`,
);
for (const [tree] of trees) {
  const rs = all.filter((r) => r.tree === tree);
  const m = (f: (r: Run) => number) => +median(rs.map(f)).toFixed(2);
  console.log(
    JSON.stringify({
      tree,
      runs: rs.length,
      jobsPerSec: m((r) => r.jobsPerSec),
      batchMs: [0, 1, 2, 3, 4].map((b) => m((r) => r.walls[b]!)),
      cpuClient: m((r) => r.cpu[0]),
      cpuServer: m((r) => r.cpu[1]),
      mainClient: m((r) => r.main[0]),
      otherClient: m((r) => r.other[0]),
      mainServer: m((r) => r.main[1]),
      otherServer: m((r) => r.other[1]),
      scavenges: [m((r) => r.scavenges[0]), m((r) => r.scavenges[1])],
      markCompacts: [m((r) => r.markCompacts[0]), m((r) => r.markCompacts[1])],
      gcMs: [m((r) => r.gcMs[0]), m((r) => r.gcMs[1])],
      ...(after
        ? {
            later: {
              ms: m((r) => median(laterOf(r).map((s) => s.ms))),
              cpuClient: m((r) => laterCpu(r, "client")),
              cpuServer: m((r) => laterCpu(r, "server")),
            },
          }
        : {}),
    }),
  );
}
