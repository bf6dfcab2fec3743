/**
 * The PostgreSQL store's migrations from version 15 on (schema.ts has the
 * earlier ones and applies them all in order). As there: a migration is never
 * edited once released; a change is a new entry at the end.
 */
import type { Migration } from "./migration.js";

export const LATER_MIGRATIONS: readonly Migration[] = [
  {
    version: 15,
    name: "retention per queue and per job",
    sql: `
-- A queue's retention rule (retention.ts), kept here so that every server
-- applies the same rule and it survives restarts: per kind (completed;
-- discarded, which covers cancelled), keep the newest count jobs and none
-- older than age_ms after it finished. No row: no rule.
CREATE TABLE ojs_queue_retention (
  queue              text PRIMARY KEY,
  completed_count    integer,
  completed_age_ms   double precision,
  discarded_count    integer,
  discarded_age_ms   double precision,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- A queue's finished jobs of one kind, oldest first: the count and age rules
-- delete from the front of it without reading the other queues' jobs.
CREATE INDEX ojs_jobs_finished_queue ON ojs_jobs (queue, (state = 'completed'), finished_at, id)
  WHERE state IN ('completed','cancelled','discarded') AND NOT dead_letter;
-- When a finished job with its own keepFor (meta "ojs-connect.keep_for",
-- {completed_ms, discarded_ms}) goes; NULL when it has none for the state it
-- finished in. IMMUTABLE is true of it: adding an interval of seconds only (no
-- days or months) to a timestamptz does not depend on the time zone. An
-- expression index, not a column: migration 13 says why ojs_jobs gets no
-- new column.
CREATE FUNCTION ojs_keep_until(state text, finished_at timestamptz, job jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $fn$
  -- Anything but a number from 0 to about 3 000 years reads as no keepFor: an
  -- error here would fail the statement that wrote the job.
  SELECT CASE WHEN jsonb_typeof(k) = 'number' AND k::text::double precision BETWEEN 0 AND 1e14
    THEN finished_at + make_interval(secs => k::text::double precision / 1000) END
  FROM (SELECT job->'meta'->'ojs-connect.keep_for'->(CASE WHEN state = 'completed' THEN 'completed_ms' ELSE 'discarded_ms' END) AS k) AS v
$fn$;
-- Only jobs with a keepFor are in it, so the others do not pay for it.
CREATE INDEX ojs_jobs_keep_until ON ojs_jobs (ojs_keep_until(state, finished_at, job))
  WHERE job->'meta' ? 'ojs-connect.keep_for' AND state IN ('completed','cancelled','discarded') AND NOT dead_letter;
`,
  },
  {
    version: 16,
    name: "multi-tenancy: tenant claims, counts and limits",
    sql: `
-- A claim that names a tenant (fetch, StreamJobs, a hand-off: tenants.ts) takes
-- that tenant's waiting jobs in the claim order. Partial on jobs that have a
-- tenant, so jobs without one pay only the predicate; a query's
-- "tenant = value" implies the IS NOT NULL, so it needs no other condition
-- (an explicit "meta ? 'tenant_id'" made the planner expect one row and sort
-- every waiting job of the tenant). The tenant is the job document's
-- meta.tenant_id, not a column (see migration 13).
CREATE INDEX ojs_jobs_tenant_claim ON ojs_jobs (queue, (job->'meta'->'tenant_id'), priority DESC, run_at, id)
  WHERE (job->'meta'->'tenant_id') IS NOT NULL AND state IN ('available','scheduled','retryable');
-- A tenant's counts by state (the admin stats, the max_queue_depth check).
CREATE INDEX ojs_jobs_tenant ON ojs_jobs ((job->'meta'->'tenant_id'), state) WHERE (job->'meta'->'tenant_id') IS NOT NULL;
-- Per-tenant limits, seen by every server. An enqueue of a tenant listed here
-- takes the locked path, which locks the row before it counts (tenants.ts).
CREATE TABLE ojs_tenant_limits (
  tenant          text PRIMARY KEY,
  max_queue_depth integer NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Raised by the single-statement enqueues when a tenant of theirs has a limit
-- (depth.ts boundedGuard): the same SQLSTATE as a bounded queue, the same retry on the locked path.
CREATE FUNCTION ojs_refuse_tenant_limited(tenants text[]) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM ojs_tenant_limits WHERE tenant = ANY(tenants)) THEN
    RAISE EXCEPTION 'a tenant has a queue-depth limit' USING ERRCODE = 'OJ001';
  END IF;
  RETURN true;
END
$fn$;
`,
  },
  {
    version: 17,
    name: "a pushed job its worker never started goes back as job.reclaimed, charged false",
    sql: `
-- lease-release.ts gives back, without using an attempt, the pushed jobs whose
-- lease ran out before their worker started them, with ojs.free_reclaim on for
-- its transaction: their event is job.reclaimed (charged false), as the memory
-- store's, rather than job.requeued. The rest is migration 11's function.
CREATE OR REPLACE FUNCTION ojs_job_updated_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  free boolean := current_setting('ojs.free_reclaim', true) IS NOT DISTINCT FROM 'on';
BEGIN
  INSERT INTO ojs_events (type, job_id, job_type, queue, workflow_id, data)
  SELECT CASE WHEN t.type = 'job.requeued' AND free THEN 'job.reclaimed' ELSE t.type END, n.id, n.type, n.queue, n.workflow_id,
    CASE t.type
      WHEN 'job.started' THEN jsonb_build_object('attempt', n.attempt, 'worker_id', coalesce(n.worker_id, ''))
      WHEN 'job.completed' THEN jsonb_build_object('attempt', n.attempt,
        'duration_ms', coalesce(round(extract(epoch FROM n.finished_at - n.started_at) * 1000)::bigint, 0))
        || CASE WHEN n.job ? 'result' THEN jsonb_build_object('result', n.job->'result') ELSE '{}'::jsonb END
      WHEN 'job.requeued' THEN CASE WHEN free THEN jsonb_build_object('attempt', n.attempt, 'charged', false) ELSE jsonb_build_object('reason', 'released') END
      WHEN 'job.reclaimed' THEN jsonb_build_object('attempt', n.attempt, 'charged', true)
      WHEN 'job.failed' THEN jsonb_build_object('attempt', n.attempt,
        'error', jsonb_build_object('code', n.job->'errors'->-1->'code', 'message', n.job->'errors'->-1->'message'))
      WHEN 'job.retrying' THEN jsonb_build_object('attempt', n.attempt, 'delay_ms', coalesce(n.job->'retryDelayMs', '0'::jsonb), 'next_attempt_at', n.run_at)
      WHEN 'job.discarded' THEN jsonb_build_object('attempt', n.attempt)
      WHEN 'job.dead_lettered' THEN jsonb_build_object('attempt', n.attempt)
      ELSE '{}'::jsonb END || ojs_event_meta(n.job)
  FROM old_rows o JOIN new_rows n ON n.id = o.id AND n.state <> o.state
  CROSS JOIN LATERAL unnest(ojs_transition_events(o.state, n.state, o.state = 'active' AND n.attempt < o.attempt,
    CASE WHEN o.state = 'active' THEN n.job->'errors'->-1->>'code' END, n.job ? 'expired', n.dead_letter)) WITH ORDINALITY AS t(type, ord)
  ORDER BY n.id, t.ord;
  RETURN NULL;
END
$fn$;
`,
  },
];
