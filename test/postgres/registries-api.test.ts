/**
 * Cron and schemas registered through the API on PostgreSQL: two servers on one database.
 * A schedule registered over HTTP on one is kept in ojs_cron, listed by the
 * other, fired by the database once per tick across both (not by either
 * server's in-process timer), with its overlap policy; disabling and removing
 * reach every server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/server.js";
import { eventually } from "../helpers.js";
import { postgresSkipReason, startPostgres, type PostgresCluster } from "../support/postgres.js";

const skip = postgresSkipReason();
let cluster: PostgresCluster | undefined;
const servers: OjsServer[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  if (skip) return;
  cluster = await startPostgres();
  for (let i = 0; i < 2; i++) servers.push(await startServer({ port: 0, store: cluster.url, schemaValidation: "strict" }));
  for (const s of servers) clients.push(new Client({ url: s.url, transport: "http" }));
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.close();
  await cluster?.stop();
});
beforeEach((ctx) => {
  if (skip) ctx.skip(skip);
});

/** POST /ojs/v1/cron on one server (the HTTP binding names the overlap policy). */
async function register(server: OjsServer, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${server.url}/ojs/v1/cron`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
}

describe("cron and schemas through the API on PostgreSQL", () => {
  it("registered on one server, listed by the other, fired once per tick across both; removal reaches both", async () => {
    const [a, b] = clients as [Client, Client];
    await register(servers[0]!, {
      name: "every-second",
      expression: "* * * * * *",
      overlap_policy: "allow",
      job_template: { type: "cron.tick", args: [1], options: { queue: "ticks" } },
    });
    await eventually(async () => (await b.listCronJobs()).some((c) => c.name === "every-second"), 3000);
    // Both servers tick; each second gives one job, never two.
    await new Promise((r) => setTimeout(r, 3500));
    await a.unregisterCronJob("every-second");
    const counts = await a.transport.fetch({ queues: ["ticks"], count: 100, workerId: "w" });
    expect(counts.length).toBeGreaterThanOrEqual(2);
    expect(counts.length).toBeLessThanOrEqual(5);
    expect(counts.every((j) => j.meta["cron_name"] === "every-second" && j.type === "cron.tick")).toBe(true);
    const seconds = counts.map((j) => Math.floor(j.createdAt!.getTime() / 1000));
    expect(new Set(seconds).size).toBe(seconds.length);
    await eventually(async () => !(await b.listCronJobs()).some((c) => c.name === "every-second"), 3000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await a.transport.fetch({ queues: ["ticks"], count: 100, workerId: "w" })).toEqual([]);
  });

  it("a schema registered on one server validates enqueues on the other; a version registered twice is a duplicate; deletion reaches both", async () => {
    const [a, b] = clients as [Client, Client];
    await a.registerSchema({ type: "typed.job", version: 1, schema: { type: "array", items: [{ type: "string" }] } });
    await eventually(async () => (await b.listSchemas()).some((s) => s.type === "typed.job"), 3000);
    expect((await b.getSchema("typed.job")).version).toBe(1);
    await expect(b.enqueue("typed.job", [42], { queue: "typed" })).rejects.toMatchObject({ code: "schema_validation" });
    await b.enqueue("typed.job", ["ok"], { queue: "typed" });
    // Registered on A and B before B's listing caught up: the database keeps one, the second is refused.
    const both = await Promise.allSettled([
      a.registerSchema({ type: "race.job", version: 1, schema: { type: "array" } }),
      b.registerSchema({ type: "race.job", version: 1, schema: { type: "array" } }),
    ]);
    expect(both.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(both.find((r) => r.status === "rejected")).toMatchObject({ reason: { code: "duplicate" } });
    await a.deleteSchema("typed.job", 1);
    await eventually(async () => !(await b.listSchemas()).some((s) => s.type === "typed.job"), 3000);
    await b.enqueue("typed.job", [42], { queue: "typed" });
  });

  it("overlap policy skip: no new run while the previous one is unfinished", async () => {
    const [a] = clients as [Client, Client];
    await register(servers[1]!, {
      name: "skipper",
      expression: "* * * * * *",
      overlap_policy: "skip",
      job_template: { type: "cron.skip", args: [], options: { queue: "skips" } },
    });
    await new Promise((r) => setTimeout(r, 3500));
    await a.unregisterCronJob("skipper");
    const got = await a.transport.fetch({ queues: ["skips"], count: 100, workerId: "w" });
    expect(got).toHaveLength(1);
  });
});
