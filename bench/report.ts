/**
 * latest.json, latest.md (tables, ratios to the like-for-like ceiling, targets) and chart.svg (hand-written, no dependency).
 * `npx tsx bench/report.ts bench/results/latest.json` renders the markdown and the chart again from a JSON.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import type { CeilingResult } from "./ceiling.js";
import type { DriverName, EnqueueResult, LatencyResult, RssResult, Sizes, ThroughputResult } from "./common.js";
import type { RestartResult } from "./journal-restart.js";
import { ceilingValue, fmt, METRICS, sys, LIKE, type Ceiling, type Metric } from "./metrics.js";
import { durableMarkdown, durableRatios, type DurableRatios } from "./report-durable.js";
import { ratioOf, roundsIn, type Failed, type Rounded } from "./rounds.js";
import type { ReclaimResult } from "./scenarios/reclaim.js";
import { figureOf, memoryTargets, spreadText } from "./targets.js";

export { fmt } from "./metrics.js";

/**
 * One system's results. The scenarios run in rounds (latency, throughput,
 * enqueue) hold the median of the rounds in their usual fields and every round
 * in `rounds` (rounds.ts); rss and reclaim run once.
 */
export interface SystemResults {
  latency?: Rounded<LatencyResult> | Failed;
  throughput?: Rounded<ThroughputResult> | Failed;
  enqueue?: Rounded<EnqueueResult> | Failed;
  rss?: RssResult | Failed;
  reclaim?: ReclaimResult | Failed;
}
export interface RunResults {
  date: string;
  mode: "quick" | "full";
  command: string;
  machine: { cpu: string; cores: number; memoryGB: number; node: string; platform: string };
  loadBefore: number[];
  loadAfter?: number[];
  git: { commit: string; dirty: boolean };
  sizes: Sizes;
  wire: { requestBytes: number; responseBytes: number };
  /** How many rounds the noise-prone scenarios and the ceiling ran (absent: one, a run from before rounds). */
  rounds?: number;
  /** The order of each round: the ceiling and the systems, rotated and every second round reversed. */
  roundOrder?: string[][];
  /** The ceiling, the median of its rounds, each round in `rounds`. */
  ceiling?: Rounded<CeilingResult>;
  ceilingError?: string;
  redis?: string;
  /** Versions of what the durable systems ran on (Redis, PostgreSQL). */
  versions?: Partial<Record<DriverName, string>>;
  /** The counts each durable system ran with (bench/durable.ts), where they differ from `sizes`. */
  durableSizes?: Partial<Record<DriverName, Sizes>>;
  systems: Partial<Record<DriverName, SystemResults | { skipped: string }>>;
  ratios?: Partial<Record<DriverName, Record<string, number>>>;
  /** The durable stores against each other (issue 11): report-durable.ts. */
  durableRatios?: DurableRatios;
  /** Start-up of a server on a journal of many jobs. */
  restart?: RestartResult | Failed;
  durationSec?: number;
}

const SYSTEMS: DriverName[] = ["grpc", "grpc-standard", "http", "bullmq"];
export const NAMES: Record<DriverName | Ceiling, string> = {
  ceiling: "http2, stream per call",
  pipelined: "http2, pipelined",
  grpc: "OJS gRPC",
  "grpc-standard": "OJS gRPC, standard",
  http: "OJS HTTP",
  bullmq: "BullMQ",
  "ojs-journal": "OJS journal",
  "ojs-postgres": "OJS PostgreSQL",
  "bullmq-aof": "BullMQ AOF always",
  "graphile-worker": "graphile-worker",
  "pg-boss": "pg-boss",
};

/**
 * SDK figure / like-for-like ceiling figure (LIKE): a fraction of the ceiling
 * for rates, a multiple of it for latency and memory. With rounds, the median
 * of the per-round ratios (the ceiling runs in every round too).
 */
export function ratios(r: RunResults): Partial<Record<DriverName, Record<string, number>>> {
  const out: Partial<Record<DriverName, Record<string, number>>> = {};
  if (!r.ceiling) return out;
  for (const d of SYSTEMS) {
    const s = sys(r, d);
    if (!s) continue;
    const row: Record<string, number> = {};
    for (const m of METRICS) {
      const v = figureOf(s, m.get);
      const c = figureOf(r.ceiling, (x) => ceilingValue(m, x, LIKE[d]!));
      const x = ratioOf(v.median, c.median, v.rounds, c.rounds).ratio;
      if (x !== undefined && Number.isFinite(x)) row[m.key] = Math.round(x * 1000) / 1000;
    }
    out[d] = row;
  }
  return out;
}

function ratioText(m: Metric, x: number | undefined): string {
  if (x === undefined) return "";
  return m.lowerIsBetter ? ` (${x.toFixed(1)}×)` : ` (${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %)`;
}

/** What the rounds of this run were, and how to read the figures (nothing for a run of one round). */
export function roundsNote(r: RunResults): string[] {
  const n = r.rounds ?? 1;
  const seen = Math.max(roundsIn(r.ceiling), ...Object.values(r.systems).map((s) => (s && !("skipped" in s) ? roundsIn(s) : 0)));
  if (n < 2 && seen < 2) return [];
  return [
    `**${Math.max(n, seen)} rounds.** Dispatch latency, one worker (throughput) and enqueue (sequential, 32 callers, batches), and the ceilings, ran once per round, ` +
      "every system in fresh processes and in another order each round (rotated, every second round reversed); RSS and lease reclaim ran in the first round only. " +
      "Each figure is the **median of the rounds**, with [lowest–highest] of the rounds beside it; every round is in latest.json (`rounds` beside each scenario's figures). " +
      "Ratios (to the ceiling in brackets, and between systems in the targets) are the median of the per-round ratios, each target says in how many single rounds it would have been met.",
  ];
}

export function markdown(r: RunResults): string {
  const present = SYSTEMS.filter((d) => r.systems[d]);
  const rt = r.ratios ?? {};
  const L: string[] = [];
  L.push(`# ojs-connect benchmark (${r.mode})`, "");
  L.push(
    `${r.date.slice(0, 16).replace("T", " ")} UTC · ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGB} GB · node ${r.machine.node} · ${r.machine.platform} · commit ${r.git.commit}${r.git.dirty ? " (src modified)" : ""}`,
  );
  L.push("", `Command: \`${r.command}\`. Server and SDK in separate processes on loopback; one server (or Redis) per system, emptied between scenarios.`, "");
  const note = roundsNote(r);
  if (note.length) L.push(...note, "");
  L.push(`| Measure | ${NAMES.ceiling} | ${NAMES.pipelined} | ${present.map((d) => NAMES[d]).join(" | ")} |`);
  L.push(`|---|---:|---:|${present.map(() => "---:").join("|")}|`);
  // Each figure with the spread of its rounds beside it, where it has rounds: [lowest–highest].
  const cell = <T extends object>(x: T | undefined, get: (v: T) => number | undefined, unit: string) => {
    const f = figureOf(x, get);
    return fmt(f.median, unit) + spreadText(f, unit);
  };
  for (const m of METRICS) {
    const c = r.ceiling && m.ceiling ? cell(r.ceiling, m.ceiling, m.unit) : "";
    const p = r.ceiling && m.pipelined ? cell(r.ceiling, m.pipelined, m.unit) : "";
    const cells = present.map((d) => {
      const s = sys(r, d);
      return s ? cell(s, m.get, m.unit) + ratioText(m, rt[d]?.[m.key]) : "skipped";
    });
    L.push(`| ${m.label} (${m.unit}) | ${c} | ${p} | ${cells.join(" | ")} |`);
  }
  L.push("");
  if (r.ceiling && !r.ceiling.pipelined)
    L.push(
      "**This run predates the pipelined ceiling:** gRPC and BullMQ have no like-for-like ratio in it (against one stream per call, the gRPC fast path won by construction).",
      "",
    );
  L.push(
    "Two ceilings, both bare node:http2 between two processes over one h2 session, moving the byte sizes of a real Enqueue " +
      `(${r.wire.requestBytes} B request, ${r.wire.responseBytes} B response, gRPC framing) at the same concurrency as each measure: ` +
      "**stream per call** opens one request/response stream per call (a unary RPC, or the HTTP binding); " +
      "**pipelined** sends every call asked for in the same tick in one length-prefixed frame on one long-lived stream, answered by one frame of as many responses (how the gRPC fast path, StreamJobs and the settle stream move them). " +
      "enqueueBatch compares with one stream per batch carrying a thousand requests' bytes. " +
      `In brackets: each system's ratio to the ceiling that moves bytes its way (gRPC and BullMQ: ${NAMES.pipelined}; HTTP: ${NAMES.ceiling}); percent of its rate, multiples of its round trip, CPU or RSS. ` +
      "Dispatch latency is compared with the sequential round trip, worker throughput with 50 in flight. " +
      "CPU figures are user + system time of each process per job (the server's is Redis's for BullMQ), and unlike rates they hardly move when other work shares the machine.",
  );
  const fpf = r.ceiling?.pipelined;
  if (fpf)
    L.push(
      "",
      `Calls per frame in the pipelined ceiling: ${Object.entries(fpf)
        .map(([k, v]) => `${k} ${v.callsPerFrame}`)
        .join(", ")}.`,
    );
  for (const d of SYSTEMS) {
    const s = r.systems[d];
    if (s && "skipped" in s) L.push("", `**${NAMES[d]} skipped:** ${s.skipped}.`);
    else if (s) for (const [k, v] of Object.entries(s)) if (v && "error" in v) L.push("", `**${NAMES[d]} ${k} failed:** ${String(v.error).split("\n")[0]}`);
  }
  L.push("", "## Targets (issues 7 and 13)", "", "| Target | Met | Figures |", "|---|:-:|---|");
  for (const t of memoryTargets(r)) L.push(`| ${t.what} | ${t.met === undefined ? "n/a" : t.met ? "yes" : "**no**"} | ${t.detail} |`);
  L.push(...durableMarkdown(r));
  const z = r.sizes;
  L.push(
    "",
    "## Sizes",
    "",
    `Latency: ${z.latencyJobs} jobs after ${z.warmup} warm-up, one at a time (each enqueued after the previous ack plus a 1-5 ms pause), worker concurrency ${z.concurrency}. ` +
      `Throughput: ${z.throughputJobs} jobs queued beforehand by another process, no-op handler, concurrency ${z.concurrency}, clock from start() to the last completion. ` +
      `Enqueue (after ${z.enqueueWarmup} warm-up calls): ${z.enqueueSequential} sequential, ${z.enqueueConcurrent} over ${z.callers} callers, ${z.batches} batches of ${z.batchSize}. ` +
      `RSS: ${z.rssJobs} jobs, RSS at ${z.rssCheckpoint} vs at the end.` +
      (r.redis ? ` BullMQ on ${r.redis.split(" ").slice(0, 3).join(" ")}, default options.` : ""),
  );
  if (r.durationSec)
    L.push(
      "",
      `Whole run: ${r.durationSec} s. Load average (1/5/15 min) before: ${r.loadBefore.join(" / ")}, after: ${(r.loadAfter ?? []).join(" / ")} (on 2 cores, anything above ~0.3 before the run means other work shared the machine).`,
    );
  return L.join("\n") + "\n";
}

const COLORS: Partial<Record<DriverName | Ceiling, string>> = {
  ceiling: "#8b949e",
  pipelined: "#57606a",
  grpc: "#1f6feb",
  "grpc-standard": "#54aeff",
  http: "#e36209",
  bullmq: "#cf222e",
};
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function svg(r: RunResults): string {
  const keys = ["workerThroughput", "enqueueSequential", "enqueueConcurrent", "enqueueBatch", "dispatchP50", "dispatchP99", "workerCpu", "workerBackendCpu"];
  const W = 820;
  const left = 160;
  const barMax = 520;
  const rowH = 18;
  const parts: string[] = [];
  let y = 84;
  for (const key of keys) {
    const m = METRICS.find((x) => x.key === key)!;
    const rows: Array<[DriverName | Ceiling, number]> = [];
    for (const which of ["ceiling", "pipelined"] as const) {
      const c = r.ceiling ? ceilingValue(m, r.ceiling, which) : undefined;
      if (c !== undefined && (which === "ceiling" || key !== "enqueueBatch")) rows.push([which, c]);
    }
    for (const d of SYSTEMS) {
      const s = sys(r, d);
      const v = s ? m.get(s) : undefined;
      if (v !== undefined && Number.isFinite(v)) rows.push([d, v]);
    }
    if (!rows.length) continue;
    const max = Math.max(...rows.map(([, v]) => v));
    parts.push(`<text x="16" y="${y}" class="h">${esc(`${m.label} (${m.unit}), ${m.lowerIsBetter ? "lower" : "higher"} is better`)}</text>`);
    y += 8;
    for (const [who, v] of rows) {
      const w = Math.max(1, (v / max) * barMax);
      parts.push(
        `<text x="${left - 8}" y="${y + 13}" class="l">${NAMES[who]}</text>`,
        `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" rx="2" fill="${COLORS[who] ?? "#57606a"}"/>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}" class="v">${fmt(v, m.unit)}</text>`,
      );
      y += rowH;
    }
    y += 22;
  }
  const title = `ojs-connect benchmark (${r.mode}) · ${r.date.slice(0, 10)} · ${r.machine.cpu}, ${r.machine.cores} cores · node ${r.machine.node}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif">`,
    `<style>.t{font-size:15px;font-weight:600;fill:#24292f}.s{font-size:11px;fill:#57606a}.h{font-size:13px;font-weight:600;fill:#24292f}.l{font-size:12px;fill:#24292f;text-anchor:end}.v{font-size:11px;fill:#24292f}</style>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" class="t">${esc(title)}</text>`,
    `<text x="16" y="42" class="s">Loopback; server and SDK in separate processes. Each group is scaled to its own largest bar.</text>`,
    `<text x="16" y="56" class="s">http2: bare node:http2 with the same bytes and concurrency, one stream per call, and pipelined in frames on one long-lived stream (as the gRPC fast path).</text>`,
    ...parts,
    `</svg>`,
  ].join("\n");
}

export function writeReports(r: RunResults, dir: string): string[] {
  r.ratios = ratios(r);
  r.durableRatios = durableRatios(r);
  const files: Array<[string, string]> = [
    ["latest.json", JSON.stringify(r, null, 2) + "\n"],
    ["latest.md", markdown(r)],
    ["chart.svg", svg(r) + "\n"],
  ];
  for (const [name, text] of files) writeFileSync(dir + name, text);
  return files.map(([name]) => dir + name);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? "bench/results/latest.json";
  const r = JSON.parse(readFileSync(file, "utf8")) as RunResults;
  console.log(writeReports(r, `${dirname(file)}/`).join("\n"));
}
