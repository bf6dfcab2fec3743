import { PgJobStore } from "../src/server/store/postgres/pg-store.js";
import { startPostgres } from "../test/support/postgres.js";
const cluster = await startPostgres();
const pg = await PgJobStore.open(cluster.url, { maintenanceIntervalMs: 60000 });
for (let k = 0; k < 5; k++) await pg.enqueueBatch(Array.from({ length: 1000 }, (_, i) => ({ req: { type: "t", args: [i], queue: i % 2 ? "a" : "b" } as never })));
await pg.fetch({ queues: ["a"], count: 1000, workerId: "w" });
await pg.sql`ANALYZE ojs_jobs`;
for (const q of [
  `EXPLAIN SELECT id FROM ojs_jobs WHERE state = 'active' AND job ? 'timeout' AND started_at + make_interval(secs => (job->>'timeout')::double precision / 1000.0) < now() LIMIT 1000 FOR UPDATE SKIP LOCKED`,
  `EXPLAIN SELECT id FROM ojs_jobs WHERE expires_at IS NOT NULL AND state IN ('scheduled','available','retryable','pending') AND expires_at < now() LIMIT 1000 FOR UPDATE SKIP LOCKED`,
  `EXPLAIN SELECT DISTINCT workflow_id FROM ojs_jobs WHERE workflow_step IS NOT NULL AND state IN ('completed', 'cancelled', 'discarded') LIMIT 100`,
]) console.log((await pg.sql.unsafe(q)).map((r) => r["QUERY PLAN"]).join("\n"), "\n");
const c = await pg.sql.unsafe(`EXPLAIN WITH locked AS (SELECT c.id, q.ord, c.priority, c.run_at FROM unnest('{b}'::text[]) WITH ORDINALITY AS q(name, ord) CROSS JOIN LATERAL (SELECT id, priority, run_at FROM ojs_jobs WHERE queue = q.name AND state IN ('available', 'scheduled', 'retryable') AND run_at <= now() AND (expires_at IS NULL OR expires_at > now()) ORDER BY priority DESC, run_at, id LIMIT 50 FOR UPDATE SKIP LOCKED) c ORDER BY q.ord, c.priority DESC, c.run_at, c.id LIMIT 50) SELECT * FROM locked`);
console.log(c.map((r) => r["QUERY PLAN"]).join("\n"));
await pg.close();
await cluster.stop();
