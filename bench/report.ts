/**
 * latest.json, latest.md (tables, ratios to the like-for-like ceiling, targets) and chart.svg (hand-written, no dependency).
 * `npx tsx bench/report.ts bench/results/latest.json` renders the markdown and the chart again from a JSON.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import type { CeilingResult } from "./ceiling.js";
import type { DriverName, EnqueueResult, LatencyResult, RssResult, Sizes, ThroughputResult } from "./common.js";
import { durableMarkdown, durableRatios, type DurableRatios } from "./report-durable.js";
import type { RestartResult } from "./journal-restart.js";
import type { ReclaimResult } from "./scenarios/reclaim.js";

type Failed = { error: string };
export interface SystemResults {
  latency?: LatencyResult | Failed;
  throughput?: ThroughputResult | Failed;
  enqueue?: EnqueueResult | Failed;
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
  ceiling?: CeilingResult;
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
type Ceiling = "ceiling" | "pipelined";
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
 * Which ceiling moves bytes the way each system does, so that every ratio
 * compares like with like: the gRPC transport pipelines enqueue, ack and nack
 * on long-lived streams (the fast path) and receives jobs over StreamJobs; the
 * HTTP transport sends one request per call; BullMQ pipelines commands on one
 * Redis connection.
 */
const LIKE: Partial<Record<DriverName, Ceiling>> = { grpc: "pipelined", "grpc-standard": "ceiling", http: "ceiling", bullmq: "pipelined" };

const ok = <T extends object>(v: T | Failed | undefined): T | undefined => (v && !("error" in v) ? v : undefined);
const sys = (r: RunResults, d: DriverName): SystemResults | undefined => {
  const s = r.systems[d];
  return s && !("skipped" in s) ? s : undefined;
};

/** One row of figures: how to read it from a system, and what in the ceiling it compares with. */
interface Metric {
  key: string;
  label: string;
  unit: string;
  lowerIsBetter?: boolean;
  get(s: SystemResults): number | undefined;
  /** The same measure for bare http2, one stream per call. */
  ceiling?(c: CeilingResult): number | undefined;
  /** The same measure for bare http2, calls pipelined in frames on one long-lived stream. */
  pipelined?(c: CeilingResult): number | undefined;
}

const METRICS: Metric[] = [
  {
    key: "dispatchP50",
    label: "Dispatch latency p50",
    unit: "ms",
    lowerIsBetter: true,
    get: (s) => ok(s.latency)?.p50,
    ceiling: (c) => c.modes.sequential?.rtt?.p50,
    pipelined: (c) => c.pipelined?.sequential?.rtt?.p50,
  },
  {
    key: "dispatchP90",
    label: "Dispatch latency p90",
    unit: "ms",
    lowerIsBetter: true,
    get: (s) => ok(s.latency)?.p90,
    ceiling: (c) => c.modes.sequential?.rtt?.p90,
    pipelined: (c) => c.pipelined?.sequential?.rtt?.p90,
  },
  {
    key: "dispatchP99",
    label: "Dispatch latency p99",
    unit: "ms",
    lowerIsBetter: true,
    get: (s) => ok(s.latency)?.p99,
    ceiling: (c) => c.modes.sequential?.rtt?.p99,
    pipelined: (c) => c.pipelined?.sequential?.rtt?.p99,
  },
  {
    key: "workerThroughput",
    label: "Worker throughput, no-op, c=50",
    unit: "jobs/s",
    get: (s) => ok(s.throughput)?.perSec,
    ceiling: (c) => c.modes.c50?.perSec,
    pipelined: (c) => c.pipelined?.c50?.perSec,
  },
  {
    key: "enqueueSequential",
    label: "Enqueue, sequential",
    unit: "/s",
    get: (s) => ok(s.enqueue)?.sequential.perSec,
    ceiling: (c) => c.modes.sequential?.perSec,
    pipelined: (c) => c.pipelined?.sequential?.perSec,
  },
  {
    key: "enqueueConcurrent",
    label: "Enqueue, 32 callers",
    unit: "/s",
    get: (s) => ok(s.enqueue)?.concurrent.perSec,
    ceiling: (c) => c.modes.c32?.perSec,
    pipelined: (c) => c.pipelined?.c32?.perSec,
  },
  // A batch is one call either way: one stream carrying a thousand requests' bytes.
  {
    key: "enqueueBatch",
    label: "enqueueBatch of 1 000",
    unit: "jobs/s",
    get: (s) => ok(s.enqueue)?.batch.perSec,
    ceiling: (c) => c.batch?.perSec,
    pipelined: (c) => c.batch?.perSec,
  },
  {
    key: "workerCpu",
    label: "CPU per job, worker process",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.throughput)?.sdkCpuUsPerJob,
    ceiling: (c) => c.modes.c50?.cpuUsPerOp,
    pipelined: (c) => c.pipelined?.c50?.cpuUsPerOp,
  },
  {
    key: "workerBackendCpu",
    label: "CPU per job, server process",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.throughput)?.backendCpuUsPerJob,
    ceiling: (c) => c.serverCpuUsPerOp,
    pipelined: (c) => c.pipelinedServerCpuUsPerOp,
  },
  {
    key: "enqueueCpu",
    label: "CPU per enqueue (32 callers), client",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.enqueue)?.concurrent.cpuUsPerOp,
    ceiling: (c) => c.modes.c32?.cpuUsPerOp,
    pipelined: (c) => c.pipelined?.c32?.cpuUsPerOp,
  },
  {
    key: "enqueueBackendCpu",
    label: "CPU per enqueue (32 callers), server",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.enqueue)?.concurrent.backendCpuUsPerOp,
    ceiling: (c) => c.serverCpuUsPerOp,
    pipelined: (c) => c.pipelinedServerCpuUsPerOp,
  },
  {
    key: "batchCpu",
    label: "CPU per batched job, client",
    unit: "µs",
    lowerIsBetter: true,
    get: (s) => ok(s.enqueue)?.batch.cpuUsPerOp,
    ceiling: (c) => c.batch?.cpuUsPerOp,
    pipelined: (c) => c.batch?.cpuUsPerOp,
  },
  { key: "batchBackendCpu", label: "CPU per batched job, server", unit: "µs", lowerIsBetter: true, get: (s) => ok(s.enqueue)?.batch.backendCpuUsPerOp },
  { key: "rssCheckpoint", label: "Worker RSS at checkpoint", unit: "MB", lowerIsBetter: true, get: (s) => ok(s.rss)?.rssAtCheckpointMB },
  { key: "rssEnd", label: "Worker RSS at end", unit: "MB", lowerIsBetter: true, get: (s) => ok(s.rss)?.rssAtEndMB },
  { key: "rssGrowthPct", label: "Worker RSS growth", unit: "%", lowerIsBetter: true, get: (s) => ok(s.rss)?.growthPct },
  {
    key: "rssPeak",
    label: "Worker peak RSS",
    unit: "MB",
    lowerIsBetter: true,
    get: (s) => ok(s.rss)?.peakRssMB,
    ceiling: (c) => c.peakRssMB,
    pipelined: (c) => c.peakRssMB,
  },
];

/** A measure's figure for one ceiling. */
const ceilingValue = (m: Metric, c: CeilingResult, which: Ceiling): number | undefined => (which === "ceiling" ? m.ceiling?.(c) : m.pipelined?.(c));

export function fmt(v: number | undefined, unit = ""): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const s =
    unit === "ms"
      ? v < 10
        ? v.toFixed(2)
        : v.toFixed(1)
      : unit === "%"
        ? v.toFixed(1)
        : unit === "MB"
          ? v.toFixed(0)
          : Math.round(v).toLocaleString("en-US").replace(/,/g, " ");
  return s;
}

/**
 * SDK figure / like-for-like ceiling figure (LIKE): a fraction of the ceiling
 * for rates, a multiple of it for latency and memory.
 */
export function ratios(r: RunResults): Partial<Record<DriverName, Record<string, number>>> {
  const out: Partial<Record<DriverName, Record<string, number>>> = {};
  if (!r.ceiling) return out;
  for (const d of SYSTEMS) {
    const s = sys(r, d);
    if (!s) continue;
    const row: Record<string, number> = {};
    for (const m of METRICS) {
      const v = m.get(s);
      const c = ceilingValue(m, r.ceiling, LIKE[d]!);
      if (v !== undefined && c) row[m.key] = Math.round((v / c) * 1000) / 1000;
    }
    out[d] = row;
  }
  return out;
}

function ratioText(m: Metric, x: number | undefined): string {
  if (x === undefined) return "";
  return m.lowerIsBetter ? ` (${x.toFixed(1)}×)` : ` (${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %)`;
}

interface Target {
  what: string;
  met: boolean | undefined;
  detail: string;
}

function targets(r: RunResults): Target[] {
  const g = sys(r, "grpc");
  const gs = sys(r, "grpc-standard");
  const h = sys(r, "http");
  const b = sys(r, "bullmq");
  const c = r.ceiling;
  const v = (s: SystemResults | undefined, key: string) => (s ? METRICS.find((m) => m.key === key)!.get(s) : undefined);
  const t = (what: string, a: number | undefined, op: "<=" | ">=", limit: number | undefined, unit: string): Target => ({
    what,
    met: a === undefined || limit === undefined ? undefined : op === "<=" ? a <= limit : a >= limit,
    detail: `${fmt(a, unit)} ${op} ${fmt(limit, unit)} ${unit}`,
  });
  return [
    t("gRPC dispatch p50 <= 1 ms", v(g, "dispatchP50"), "<=", 1, "ms"),
    t("gRPC dispatch p99 <= 5 ms", v(g, "dispatchP99"), "<=", 5, "ms"),
    t("gRPC dispatch p99 no worse than BullMQ", v(g, "dispatchP99"), "<=", v(b, "dispatchP99"), "ms"),
    t("gRPC worker throughput >= BullMQ", v(g, "workerThroughput"), ">=", v(b, "workerThroughput"), "jobs/s"),
    t("gRPC worker throughput >= 3× HTTP", v(g, "workerThroughput"), ">=", (v(h, "workerThroughput") ?? NaN) * 3, "jobs/s"),
    t("Sequential enqueue over gRPC >= BullMQ add", v(g, "enqueueSequential"), ">=", v(b, "enqueueSequential"), "/s"),
    // Against the ceiling that moves the same bytes the same way (frames on one long-lived stream);
    // against one stream per call (the old figure) the target was met by construction.
    t("gRPC enqueue, 32 callers >= 50 % of pipelined http2", v(g, "enqueueConcurrent"), ">=", c?.pipelined?.c32 ? c.pipelined.c32.perSec / 2 : undefined, "/s"),
    t(
      "gRPC worker throughput >= 50 % of pipelined http2 (c=50)",
      v(g, "workerThroughput"),
      ">=",
      c?.pipelined?.c50 ? c.pipelined.c50.perSec / 2 : undefined,
      "jobs/s",
    ),
    t("gRPC enqueueBatch >= 100 000 jobs/s", v(g, "enqueueBatch"), ">=", 100_000, "jobs/s"),
    t("gRPC worker RSS flat within 10 %", v(g, "rssGrowthPct"), "<=", 10, "%"),
    // Issue 13: against a server without the fast path (the standard ojs.v1 methods only).
    t("gRPC standard: enqueue, 32 callers >= 8 000/s", v(gs, "enqueueConcurrent"), ">=", 8_000, "/s"),
    t("gRPC standard: worker throughput >= 5 000 jobs/s", v(gs, "workerThroughput"), ">=", 5_000, "jobs/s"),
    t("gRPC standard: sequential enqueue >= HTTP", v(gs, "enqueueSequential"), ">=", v(h, "enqueueSequential"), "/s"),
    t("gRPC standard: enqueue, 32 callers >= HTTP", v(gs, "enqueueConcurrent"), ">=", v(h, "enqueueConcurrent"), "/s"),
    t("gRPC standard: worker throughput >= HTTP", v(gs, "workerThroughput"), ">=", v(h, "workerThroughput"), "jobs/s"),
    t("gRPC standard: dispatch p99 <= HTTP", v(gs, "dispatchP99"), "<=", v(h, "dispatchP99"), "ms"),
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
  L.push(`| Measure | ${NAMES.ceiling} | ${NAMES.pipelined} | ${present.map((d) => NAMES[d]).join(" | ")} |`);
  L.push(`|---|---:|---:|${present.map(() => "---:").join("|")}|`);
  for (const m of METRICS) {
    const c = r.ceiling && m.ceiling ? fmt(m.ceiling(r.ceiling), m.unit) : "";
    const p = r.ceiling && m.pipelined ? fmt(m.pipelined(r.ceiling), m.unit) : "";
    const cells = present.map((d) => {
      const s = sys(r, d);
      return s ? fmt(m.get(s), m.unit) + ratioText(m, rt[d]?.[m.key]) : "skipped";
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
  for (const t of targets(r)) L.push(`| ${t.what} | ${t.met === undefined ? "n/a" : t.met ? "yes" : "**no**"} | ${t.detail} |`);
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
