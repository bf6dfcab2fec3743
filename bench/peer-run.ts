/**
 * What `npm run bench:peer` measures (bench/peer.ts is its command line):
 * against any running ojs.v1 server, given its gRPC and its HTTP address, the
 * SDK's Client and Worker over the gRPC transport and over the HTTP transport,
 * and a plain connect-node client of the generated service as a reference.
 * The scenarios are bench/scenarios' own (enqueue without batches; a producer
 * then a worker for throughput), each in its own process (child.ts) so that
 * every figure is one client's CPU and memory, and each bounded in count and
 * in time. Every run uses queues of its own, so it can share a server.
 */
import { randomBytes } from "node:crypto";
import { Client } from "../src/index.js";
import type { Manifest } from "../src/model/system.js";
import { FULL, QUICK, type ChildSpec, type Rate, type ReferenceDriverName, type Sizes, type ThroughputResult } from "./common.js";
import { gitState, loadAverage, machineInfo, type MachineInfo } from "./machine.js";
import { exited, forkScript } from "./procs.js";

/** Our gRPC transport, our HTTP transport, and the connect-node reference (producer calls only). */
export type PeerSystem = "grpc" | "http" | ReferenceDriverName;
export const PEER_SYSTEMS: readonly PeerSystem[] = ["grpc", "http", "connect-node"];

export type PeerSizes = Pick<Sizes, "enqueueWarmup" | "enqueueSequential" | "enqueueConcurrent" | "callers" | "throughputJobs" | "concurrency">;

/** The counts of `npm run bench` (FULL, QUICK) for the scenarios this bench runs. */
export function peerSizes(quick: boolean): PeerSizes {
  const s = quick ? QUICK : FULL;
  return {
    enqueueWarmup: s.enqueueWarmup,
    enqueueSequential: s.enqueueSequential,
    enqueueConcurrent: s.enqueueConcurrent,
    callers: s.callers,
    throughputJobs: s.throughputJobs,
    concurrency: s.concurrency,
  };
}

export type Failed = { error: string };
export interface PeerEnqueue {
  sequential: Rate;
  concurrent: Rate & { callers: number };
}
export interface PeerSystemResults {
  url: string;
  enqueue?: PeerEnqueue | Failed;
  /** One Worker draining jobs queued beforehand (the SDK's transports only). */
  throughput?: ThroughputResult | Failed;
  /** What the Worker wrote to stderr during that run: a fallback from StreamJobs to polling is one such line. */
  workerLog?: string[];
}
/** The server as its manifest describes it, asked over each binding. */
export type ServerSeen = Pick<Manifest, "implementation" | "backend" | "specversion" | "extensions">;
export interface PeerResults {
  /** Part of every queue name of this run (peerQueue), so that its jobs can be found on the server. */
  runId: string;
  date: string;
  mode: "quick" | "full";
  command: string;
  machine: MachineInfo;
  loadBefore: number[];
  loadAfter?: number[];
  git: { commit: string; dirty: boolean };
  sizes: PeerSizes;
  server: { grpc: ServerSeen | Failed; http: ServerSeen | Failed };
  systems: Partial<Record<PeerSystem, PeerSystemResults>>;
  /** Our gRPC transport's figure divided by our HTTP transport's, per measure: above 1, gRPC is faster. */
  grpcOverHttp: Partial<Record<PeerMeasure, number>>;
  durationSec?: number;
}

export type PeerMeasure = "enqueueSequential" | "enqueueConcurrent" | "workerThroughput";

export interface PeerOptions {
  /** The server's gRPC base URL (http://host:port). */
  grpc: string;
  /** The server's HTTP/JSON base URL; may be the same as `grpc` (a server with both on one port). */
  http: string;
  sizes: PeerSizes;
  mode: "quick" | "full";
  command: string;
  /** Longest a single scenario process may take before it is killed and reported as failed. */
  timeoutMs: number;
  log?: (line: string) => void;
}

/** The queue one scenario of one system uses in a run; the producer fills the throughput queue. */
export const peerQueue = (system: PeerSystem, scenario: string, runId: string): string => `peer-${system}-${scenario}-${runId}`;

export const ok = <T extends object>(v: T | Failed | undefined): T | undefined => (v && !("error" in v) ? v : undefined);
const failed = (e: unknown): Failed => ({ error: e instanceof Error ? e.message : String(e) });

export function peerFigure(s: PeerSystemResults | undefined, m: PeerMeasure): number | undefined {
  if (!s) return undefined;
  if (m === "workerThroughput") return ok(s.throughput)?.perSec;
  return ok(s.enqueue)?.[m === "enqueueSequential" ? "sequential" : "concurrent"].perSec;
}

export async function runPeer(o: PeerOptions): Promise<PeerResults> {
  const log = o.log ?? (() => {});
  const began = Date.now();
  // Queues of this run only: the server may be shared, and may hold jobs of earlier runs.
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const sizes: Sizes = { ...FULL, ...o.sizes, batches: 0, batchSize: 1 };
  const results: PeerResults = {
    runId,
    date: new Date().toISOString(),
    mode: o.mode,
    command: o.command,
    machine: machineInfo(),
    loadBefore: loadAverage(),
    git: gitState(),
    sizes: o.sizes,
    server: { grpc: await serverSeen(o.grpc, "grpc"), http: await serverSeen(o.http, "http") },
    systems: {},
    grpcOverHttp: {},
  };
  for (const system of PEER_SYSTEMS) {
    const target = system === "http" ? o.http : o.grpc;
    const out: PeerSystemResults = { url: target };
    results.systems[system] = out;
    const spec = (scenario: ChildSpec["scenario"], count?: number): ChildSpec => ({
      driver: system,
      scenario,
      target,
      queue: peerQueue(system, scenario === "produce" ? "throughput" : scenario, runId),
      sizes,
      ...(count === undefined ? {} : { count }),
    });
    log(`${system}: enqueue...`);
    try {
      const { sequential, concurrent } = await runScenario<PeerEnqueue>(spec("enqueue"), o.timeoutMs);
      out.enqueue = { sequential, concurrent };
      log(`  sequential ${Math.round(sequential.perSec)}/s (p50 ${sequential.p50Ms} ms), ${concurrent.callers} callers ${Math.round(concurrent.perSec)}/s`);
    } catch (e) {
      out.enqueue = failed(e);
      log(`  FAILED: ${out.enqueue.error}`);
    }
    if (system === "connect-node") continue;
    log(`${system}: one worker draining ${sizes.throughputJobs} queued jobs...`);
    const workerLog: string[] = [];
    try {
      await runScenario(spec("produce", sizes.throughputJobs), o.timeoutMs);
      const r = await runScenario<ThroughputResult>(spec("throughput"), o.timeoutMs, (line) => {
        // The Worker's own logger ("ojs-connect worker ...") and the bench driver's notes ("[bench] ..."); bounded.
        if (workerLog.length < 50 && (line.includes("ojs-connect worker") || line.startsWith("[bench]"))) workerLog.push(line);
      });
      out.throughput = r;
      log(`  ${Math.round(r.perSec)} jobs/s (${r.jobs} jobs in ${r.seconds.toFixed(2)} s)`);
    } catch (e) {
      out.throughput = failed(e);
      log(`  FAILED: ${out.throughput.error}`);
    }
    out.workerLog = workerLog;
  }
  for (const m of ["enqueueSequential", "enqueueConcurrent", "workerThroughput"] as const) {
    const g = peerFigure(results.systems.grpc, m);
    const h = peerFigure(results.systems.http, m);
    if (g !== undefined && h) results.grpcOverHttp[m] = Math.round((g / h) * 1000) / 1000;
  }
  results.loadAfter = loadAverage();
  results.durationSec = Math.round((Date.now() - began) / 100) / 10;
  return results;
}

/** One scenario in its own process (child.ts), killed if it has not answered within `timeoutMs`. */
async function runScenario<T>(spec: ChildSpec, timeoutMs: number, onStderrLine?: (line: string) => void): Promise<T> {
  const child = forkScript("child.ts", [JSON.stringify(spec)], onStderrLine ? { onStderrLine } : {});
  try {
    return await child.next<T>("result", timeoutMs);
  } finally {
    await exited(child, 5_000);
  }
}

async function serverSeen(url: string, transport: "grpc" | "http"): Promise<ServerSeen | Failed> {
  const client = new Client({ url, transport, logger: false, timeoutMs: 10_000 });
  try {
    const m = await client.manifest();
    return { implementation: m.implementation, backend: m.backend, specversion: m.specversion, extensions: m.extensions };
  } catch (e) {
    return failed(e);
  } finally {
    await client.close();
  }
}
