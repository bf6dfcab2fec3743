/**
 * The events of jobs as they are inserted: `job.enqueued`, then
 * `job.scheduled` for a job due later or `job.started` for a job handed to a
 * waiting consumer (handoff.ts). Every statement that inserts jobs writes
 * them itself, in a CTE beside the insert: the insert CTE is named `ins` and
 * returns at least the columns of returningEventColumns, and the CTE `ev` built here turns
 * its rows into events, so they commit (or not) with the jobs.
 *
 * The store's main pool is opened with INSERTED_EVENTS_INLINE (pg-store.ts),
 * and the insert trigger (migration 13) fires only for rows inserted on a
 * connection without it: the store's own inserts skip it, while an insert
 * from elsewhere (a server older than migration 13 still running beside a
 * newer one during an upgrade, a row inserted by hand) gets its events from
 * the trigger as before. So every statement this pool runs that inserts jobs
 * must write their events here. Until migration 13 that trigger was
 * statement-level and fired for every insert: on a single-job enqueue it was
 * a tenth of the statement's cost in PostgreSQL (the transition table it
 * reads, the PL/pgSQL call and its SPI query, on top of the insert into
 * ojs_events that the CTE also does); its row-level successor's WHEN is
 * checked per row before anything is queued. The update trigger stays
 * (events.ts): a claim or an ack changes many rows in one statement, and its
 * events are written once per statement.
 *
 * The rows are the trigger's, in its order: per job in (created_at, id) order,
 * enqueued first. What the reader adds (job_id, job_type, queue in data) is in
 * events.ts.
 */
import type { PendingQuery, Row, Sql, TransactionSql } from "postgres";

/**
 * The session setting, sent when a connection starts, that tells the insert
 * trigger this connection's inserts write their own events (migration 13).
 */
export const INSERTED_EVENTS_INLINE: Readonly<Record<string, string>> = { "ojs.events_inline": "on" };

interface Fragments {
  returning: PendingQuery<Row[]>;
  cte: PendingQuery<Row[]>;
}

/**
 * The fragments, built once per pool or transaction: they have no
 * parameters, and postgres.js only reads a fragment's text when a query
 * embeds it (it runs only a query that is awaited), so one object serves
 * every statement. Built anew for each enqueue they cost the store's process
 * about 10 µs per enqueue.
 */
const built = new WeakMap<object, Fragments>();

function fragments(sql: Sql | TransactionSql): Fragments {
  let f = built.get(sql);
  if (!f) built.set(sql, (f = { returning: returning(sql), cte: cte(sql) }));
  return f;
}

/** What the `ev` CTE reads from `ins`: a RETURNING list for statements that need nothing else back. */
export function returningEventColumns(sql: Sql | TransactionSql): PendingQuery<Row[]> {
  return fragments(sql).returning;
}

/** The CTE `ev`: inserts the events of the rows of the CTE `ins` (after a comma, in a WITH list). */
export function insertedEventsCte(sql: Sql | TransactionSql): PendingQuery<Row[]> {
  return fragments(sql).cte;
}

function returning(sql: Sql | TransactionSql): PendingQuery<Row[]> {
  return sql.unsafe(RETURNING_EVENT_COLUMNS);
}

function cte(sql: Sql | TransactionSql): PendingQuery<Row[]> {
  return sql.unsafe(INSERTED_EVENTS_CTE);
}

/** returningEventColumns's text, for a statement written as one text (plain-insert.ts). */
export const RETURNING_EVENT_COLUMNS = "RETURNING id, type, queue, workflow_id, state, run_at, attempt, worker_id, created_at, job";

/** insertedEventsCte's text, for a statement written as one text (plain-insert.ts). */
export const INSERTED_EVENTS_CTE = `ev AS (
    INSERT INTO ojs_events (type, job_id, job_type, queue, workflow_id, data)
    SELECT t.type, n.id, n.type, n.queue, n.workflow_id,
      CASE t.type
        WHEN 'job.scheduled' THEN jsonb_build_object('scheduled_at', n.run_at)
        WHEN 'job.started' THEN jsonb_build_object('attempt', n.attempt, 'worker_id', coalesce(n.worker_id, ''))
        ELSE '{}'::jsonb END || ojs_event_meta(n.job)
    FROM ins n
    CROSS JOIN LATERAL unnest(CASE n.state
      WHEN 'scheduled' THEN ARRAY['job.enqueued', 'job.scheduled']
      WHEN 'active' THEN ARRAY['job.enqueued', 'job.started']
      ELSE ARRAY['job.enqueued'] END) WITH ORDINALITY AS t(type, ord)
    ORDER BY n.created_at, n.id, t.ord)`;
