/**
 * The enqueue of jobs with no unique key and no per-job rate limit: one
 * statement, which is its own transaction, so one round trip and one commit
 * for the whole list: the depth-bound guard (depth.ts), the insert, its
 * events (inserted-events.ts), the registration of queues this process has
 * not seen (known-queues.ts) and the NOTIFY that wakes the consumers.
 *
 * The rows travel as one JSON array, unpacked by jsonb_to_recordset, not as a
 * VALUES list of 16 parameters per job: the statement's text is then the same
 * whatever the number of jobs (one prepared statement serves a single enqueue,
 * a group of them (enqueue-group.ts) and a batch of 1 000, where a VALUES list
 * made postgres.js prepare, and keep, one statement per batch size), and this
 * process serialises one array with JSON.stringify instead of binding 16 000
 * parameters one by one.
 */
import type { Sql } from "postgres";
import { registered, unregistered } from "./known-queues.js";
import { boundedGuardText, tenantsOf } from "./depth.js";
import { INSERTED_EVENTS_CTE, RETURNING_EVENT_COLUMNS } from "./inserted-events.js";
import { enqueuedJob, rowOf } from "./insert-rows.js";
import type { BuiltJob, EnqueueOutcome } from "./insert-rows.js";

/**
 * Runs the statement for `built` (any number of jobs, any queues). Rejects
 * with PostgreSQL's own error: a client-chosen id that exists (23505), a
 * bounded queue among them (depth.ts BOUNDED_QUEUE_SQLSTATE); the callers map
 * or work around them. Nothing is inserted then.
 */
export async function insertPlain(sql: Sql, built: readonly BuiltJob[]): Promise<EnqueueOutcome[]> {
  const queues = [...new Set(built.map((b) => b.job.queue))];
  // Queues this process saw registered are not written again (known-queues.ts). Sorted: two statements
  // registering the same new queues lock their keys in the same order, so they never wait on each other in a cycle.
  const fresh = unregistered(sql, queues).sort();
  const rows = built.map(rowOf);
  const tenants = [...tenantsOf(built).keys()];
  // $1 the queues, $2 the rows, $3 the NOTIFY payload, then the tenants (when the jobs have any) and the queues to register.
  const params: unknown[] = [queues, sql.json(rows as never), queues.join(",")];
  if (tenants.length) params.push(tenants);
  if (fresh.length) params.push(fresh);
  const text = STATEMENTS[(fresh.length ? 1 : 0) + (tenants.length ? 2 : 0)]!;
  const [res] = await sql.unsafe<{ inserted: number }[]>(text, params as never, { prepare: true });
  if (res?.inserted !== rows.length) throw new Error(`enqueue inserted ${res?.inserted ?? 0} of ${rows.length} jobs`);
  if (fresh.length) registered(sql, fresh);
  return built.map((b) => ({ job: enqueuedJob(b), deduplicated: false }));
}

/**
 * The statement as one constant text, sent with sql.unsafe (prepared all the
 * same): written as a tagged template with fragments (the guard, the insert,
 * an empty one for the registration), postgres.js made a Query object per
 * fragment and joined and hashed the whole text again on every enqueue, and
 * V8 kept recompiling postgres.js's Query and Result constructors, each
 * compile abandoned ("dependency change"), so they ran unoptimised for good
 * (docs/performance-pgseq14.md). Parameters: see insertPlain.
 *
 * The INSERT takes the rows from one jsonb parameter. Dates are bound as their
 * ISO strings (JSON.stringify), which timestamptz reads back to the
 * millisecond, as it did from a bound Date; the documents stay jsonb all the
 * way (the column of a jsonb record is copied, not printed and parsed again).
 */
function statement(register: boolean, tenants: boolean): string {
  let next = 4;
  const tenantsParam = tenants ? `$${next++}` : undefined;
  const registerParam = `$${next}`;
  return `WITH g AS (${boundedGuardText("$1::text[]", tenantsParam === undefined ? undefined : `${tenantsParam}::text[]`)}),
      ins AS (INSERT INTO ojs_jobs (id, queue, type, state, priority, attempt, max_attempts, run_at, expires_at, unique_key, created_at,
      job, retry, extra, workflow_id, workflow_step)
    SELECT id, queue, type, state, priority, attempt, max_attempts, run_at, expires_at, unique_key, created_at,
      job, retry, extra, workflow_id, workflow_step
    FROM jsonb_to_recordset($2) AS r(id uuid, queue text, type text, state text, priority integer,
      attempt integer, max_attempts integer, run_at timestamptz, expires_at timestamptz, unique_key text, created_at timestamptz,
      job jsonb, retry jsonb, extra jsonb, workflow_id text, workflow_step text) ${RETURNING_EVENT_COLUMNS}),
      ${INSERTED_EVENTS_CTE},
      ${register ? `q AS (INSERT INTO ojs_queues (name) SELECT unnest(${registerParam}::text[]) ON CONFLICT (name) DO NOTHING),` : ""}
      n AS (SELECT pg_notify('ojs_jobs', $3))
    SELECT count(*)::int AS inserted FROM ins, n, g`;
}
/** By (queues to register ? 1 : 0) + (jobs of tenants ? 2 : 0). */
const STATEMENTS = [statement(false, false), statement(true, false), statement(false, true), statement(true, true)];
