/**
 * `npm run bench:peer` (bench/peer-run.ts) against our own server with its fast
 * path switched off, as any other ojs.v1 server is seen, with tiny counts: every
 * system measured, in processes of its own, and the server holds exactly the
 * jobs each scenario says it sent (so no figure can come from calls that did not
 * happen). No speed is asserted: speed lives in the bench's own report.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAST_PATH_EXTENSION } from "../../src/transport/grpc/fastpath.js";
import { peerMarkdown } from "../../bench/peer-report.js";
import { ok, peerQueue, runPeer, type PeerResults, type PeerSizes } from "../../bench/peer-run.js";
import { passStderrOn } from "../../bench/procs.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { serverCore } from "../../src/server/internal.js";

const SIZES: PeerSizes = { enqueueWarmup: 5, enqueueSequential: 20, enqueueConcurrent: 40, callers: 4, throughputJobs: 30, concurrency: 5 };
/** What one enqueue scenario sends: warm-up, sequential, concurrent, and the one single-job batch it makes before its (zero) timed batches. */
const ENQUEUED = SIZES.enqueueWarmup + SIZES.enqueueSequential + SIZES.enqueueConcurrent + 1;

describe("bench:peer against ojs-connect serve --no-fast-path", () => {
  let server: OjsServer;
  let r: PeerResults;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startServer({ port: 0, fastPath: false });
    r = await runPeer({ grpc: server.url, http: server.url, sizes: SIZES, mode: "quick", command: "test", timeoutMs: 60_000, log: (l) => lines.push(l) });
  }, 180_000);
  afterAll(async () => {
    await server?.close();
  });

  const counts = (queue: string) => serverCore(server).jobs.countByState(queue);

  it("reads the server's manifest over both bindings, and sees no fast path", () => {
    for (const seen of [r.server.grpc, r.server.http]) {
      if ("error" in seen) throw new Error(seen.error);
      expect(seen.implementation.name).toBe("ojs-connect");
      expect(seen.extensions).not.toContain(FAST_PATH_EXTENSION);
    }
  });

  it("measures sequential and concurrent enqueue for each system, every call reaching the server", async () => {
    for (const system of ["grpc", "http", "connect-node"] as const) {
      const e = ok(r.systems[system]?.enqueue);
      expect(e, `${system}: ${JSON.stringify(r.systems[system]?.enqueue)}`).toBeDefined();
      expect(e!.sequential.n).toBe(SIZES.enqueueSequential);
      expect(e!.sequential.perSec).toBeGreaterThan(0);
      expect(e!.sequential.p50Ms).toBeGreaterThan(0);
      expect(e!.concurrent).toMatchObject({ n: SIZES.enqueueConcurrent, callers: SIZES.callers });
      const c = await counts(peerQueue(system, "enqueue", r.runId));
      expect(c.available, system).toBe(ENQUEUED);
    }
  });

  it("drains the queued jobs with one Worker over each transport; the server counts them completed", async () => {
    for (const system of ["grpc", "http"] as const) {
      const t = ok(r.systems[system]?.throughput);
      expect(t, `${system}: ${JSON.stringify(r.systems[system]?.throughput)}`).toBeDefined();
      expect(t!).toMatchObject({ jobs: SIZES.throughputJobs, completedEvents: SIZES.throughputJobs, concurrency: SIZES.concurrency });
      const c = await counts(peerQueue(system, "throughput", r.runId));
      expect(c.completed, system).toBe(SIZES.throughputJobs);
      // Our server streams: nothing for the worker to fall back from.
      expect(r.systems[system]?.workerLog).toEqual([]);
    }
    expect(r.systems["connect-node"]?.throughput).toBeUndefined();
  });

  it("compares the transports and writes one table row per measure", () => {
    expect(Object.keys(r.grpcOverHttp).sort()).toEqual(["enqueueConcurrent", "enqueueSequential", "workerThroughput"]);
    const md = peerMarkdown(r);
    expect(md).toContain("| Measure | OJS gRPC transport | OJS HTTP transport | connect-node (reference) | gRPC / HTTP |");
    for (const row of ["Enqueue, sequential (/s)", "Enqueue, sequential p50 (ms)", "Enqueue, 32 callers (/s)", "Worker throughput, no-op, c=50 (jobs/s)"])
      expect(md).toContain(`| ${row} |`);
    expect(md).not.toContain("failed:");
    expect(lines.some((l) => l.startsWith("connect-node: enqueue"))).toBe(true);
  });
});

describe("a scenario process's stderr, read line by line (where the Worker's log lines are found)", () => {
  it("hands over every line once, whole, however the writes were cut, the last one without its newline too", async () => {
    const script = 'process.stderr.write("ojs-connect worker a: Stream"); setTimeout(() => process.stderr.write("Jobs stalled\\nsecond\\n\\nlast"), 50);';
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    const lines: string[] = [];
    passStderrOn(child, (l) => lines.push(l));
    await once(child.stderr!, "end");
    expect(lines).toEqual(["ojs-connect worker a: StreamJobs stalled", "second", "", "last"]);
  });
});
