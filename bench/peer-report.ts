/** The markdown of a bench:peer run (bench/peer-run.ts), in the style of bench/report.ts. */
import { fmt, NAMES } from "./report.js";
import { ok, peerFigure, PEER_SYSTEMS, type PeerMeasure, type PeerResults, type PeerSystem, type PeerSystemResults, type ServerSeen } from "./peer-run.js";

const LABELS: Record<PeerSystem, string> = {
  grpc: `${NAMES.grpc} transport`,
  http: `${NAMES.http} transport`,
  "connect-node": "connect-node (reference)",
};

interface Row {
  label: string;
  unit: string;
  get(s: PeerSystemResults): number | undefined;
  /** The key of grpcOverHttp, for the rows that compare the two transports. */
  ratio?: PeerMeasure;
}

const ROWS: Row[] = [
  { label: "Enqueue, sequential", unit: "/s", get: (s) => peerFigure(s, "enqueueSequential"), ratio: "enqueueSequential" },
  { label: "Enqueue, sequential p50", unit: "ms", get: (s) => ok(s.enqueue)?.sequential.p50Ms },
  { label: "Enqueue, 32 callers", unit: "/s", get: (s) => peerFigure(s, "enqueueConcurrent"), ratio: "enqueueConcurrent" },
  { label: "Worker throughput, no-op, c=50", unit: "jobs/s", get: (s) => peerFigure(s, "workerThroughput"), ratio: "workerThroughput" },
  { label: "Client CPU per sequential enqueue", unit: "µs", get: (s) => ok(s.enqueue)?.sequential.cpuUsPerOp },
  { label: "Client CPU per enqueue, 32 callers", unit: "µs", get: (s) => ok(s.enqueue)?.concurrent.cpuUsPerOp },
  { label: "Worker CPU per job", unit: "µs", get: (s) => ok(s.throughput)?.sdkCpuUsPerJob },
];

function describe(seen: ServerSeen | { error: string }): string {
  if ("error" in seen) return `manifest failed: ${seen.error.split("\n")[0]}`;
  const i = seen.implementation;
  return `${i.name} ${i.version} (${i.language}), backend ${seen.backend || "?"}, extensions: ${seen.extensions.length ? seen.extensions.join(", ") : "none"}`;
}

export function peerMarkdown(r: PeerResults): string {
  const present = PEER_SYSTEMS.filter((s) => r.systems[s]);
  const L: string[] = [];
  L.push(`# ojs-connect against an ojs.v1 server (${r.mode})`, "");
  L.push(
    `${r.date.slice(0, 16).replace("T", " ")} UTC · ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGB} GB · node ${r.machine.node} · ${r.machine.platform} · commit ${r.git.commit}${r.git.dirty ? " (src modified)" : ""}`,
  );
  L.push("", `Command: \`${r.command}\`.`, "");
  L.push(`Server over gRPC (${r.systems.grpc?.url ?? "?"}): ${describe(r.server.grpc)}.`, "");
  L.push(`Server over HTTP (${r.systems.http?.url ?? "?"}): ${describe(r.server.http)}.`, "");
  L.push(`| Measure | ${present.map((s) => LABELS[s]).join(" | ")} | gRPC / HTTP |`);
  L.push(`|---|${present.map(() => "---:").join("|")}|---:|`);
  for (const row of ROWS) {
    const cells = present.map((s) => fmt(row.get(r.systems[s]!), row.unit));
    const x = row.ratio ? r.grpcOverHttp[row.ratio] : undefined;
    L.push(`| ${row.label} (${row.unit}) | ${cells.join(" | ")} | ${x === undefined ? "" : `${x.toFixed(2)}×`} |`);
  }
  L.push(
    "",
    "Each scenario runs in its own client process on queues of this run only. gRPC / HTTP above 1 means our gRPC transport is faster. " +
      "CPU figures are user + system time of the client process per call or per job; the server's CPU is not measured (it is not ours to see).",
  );
  for (const s of present) {
    const sys = r.systems[s]!;
    for (const [k, v] of Object.entries(sys))
      if (v && typeof v === "object" && "error" in v) L.push("", `**${LABELS[s]} ${k} failed:** ${String(v.error).split("\n")[0]}`);
    if (sys.workerLog?.length) L.push("", `Worker log over ${LABELS[s]}:`, "", ...sys.workerLog.map((l) => `- \`${l.replace(/`/g, "'")}\``));
  }
  const z = r.sizes;
  L.push(
    "",
    "## Sizes",
    "",
    `Enqueue (after ${z.enqueueWarmup} warm-up calls): ${z.enqueueSequential} sequential, ${z.enqueueConcurrent} over ${z.callers} callers. ` +
      `Throughput: ${z.throughputJobs} jobs queued beforehand by another process, one Worker with a no-op handler at concurrency ${z.concurrency}, clock from start() to the last completion.`,
  );
  if (r.durationSec)
    L.push("", `Whole run: ${r.durationSec} s. Load average (1/5/15 min) before: ${r.loadBefore.join(" / ")}, after: ${(r.loadAfter ?? []).join(" / ")}.`);
  return L.join("\n") + "\n";
}
