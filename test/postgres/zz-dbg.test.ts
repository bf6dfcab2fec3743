import { it, expect } from "vitest";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { usePrivatePostgres } from "../support/postgres-file.js";
const pg = usePrivatePostgres();
it("dbg", async () => {
  const url = await pg.cluster.createDatabase("d1");
  const a = pg.closeAtEnd(await PgJobStore.open(url));
  for (let i = 0; i < 6; i++) await a.submit({ type: "t", args: [], queue: "q", rateLimit: { key: "k", rate: { limit: 3, period: 1000 } } } as never);
  console.log(await a.sql`SELECT * FROM ojs_rate_limits`);
  console.log(await a.sql`SELECT rate_key, state FROM ojs_jobs`);
  const got = await a.fetch({ queues: ["q"], count: 5, workerId: "w" });
  console.log("got", got.length);
  console.log(await a.sql`SELECT key, starts, next_start_at FROM ojs_rate_limits`);
  const got2 = await a.fetch({ queues: ["q"], count: 5, workerId: "w" });
  console.log("got2", got2.length);
  expect(1).toBe(1);
});
