/**
 * The PostgreSQL store's schema, as numbered migrations applied on start.
 * Every server runs migrate() when it opens; an advisory lock makes the
 * servers that start together take turns, and ojs_migrations records what was
 * applied, so each migration runs once per database. A migration is never
 * edited once released: a change is a new entry at the end.
 */
import type { Sql } from "postgres";
import { LATER_MIGRATIONS } from "./migrations-later.js";
import type { Migration } from "./migration.js";

export type { Migration } from "./migration.js";

/** Key of the advisory lock that serialises migrations across servers (an arbitrary constant: "ojs" + 1). */
const MIGRATION_LOCK = 0x6f6a7301;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "jobs, queues, cron, workflows, schemas, rate limits",
    sql: `
CREATE TABLE ojs_jobs (
  id             uuid PRIMARY KEY,
  queue          text NOT NULL,
  type           text NOT NULL,
  state          text NOT NULL CHECK (state IN ('scheduled','available','pending','active','completed','retryable','cancelled','discarded')),
  priority       integer NOT NULL DEFAULT 0,
  attempt        integer NOT NULL DEFAULT 0,
  max_attempts   integer NOT NULL,
  -- When the job may run next: its schedule, or its retry time. A claim takes
  -- scheduled, available and retryable jobs whose run_at has passed, so no
  -- promotion pass is needed.
  run_at         timestamptz NOT NULL,
  expires_at     timestamptz,
  lease_deadline timestamptz,
  worker_id      text,
  unique_key     text,
  dead_letter    boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL,
  started_at     timestamptz,
  finished_at    timestamptz,
  -- The job as the API shows it (args, meta, policies, errors, result); the
  -- columns above are authoritative for what they hold.
  job            jsonb NOT NULL,
  -- The effective retry policy (backoff.ts EffectiveRetry).
  retry          jsonb NOT NULL,
  extra          jsonb
);
-- The claim: per queue, highest priority first, then oldest due.
CREATE INDEX ojs_jobs_claim ON ojs_jobs (queue, priority DESC, run_at, id) WHERE state IN ('available','scheduled','retryable');
-- The reaper: active jobs by lease deadline.
CREATE INDEX ojs_jobs_lease ON ojs_jobs (lease_deadline) WHERE state = 'active';
CREATE INDEX ojs_jobs_unique ON ojs_jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX ojs_jobs_dead ON ojs_jobs (queue, finished_at) WHERE dead_letter;

CREATE TABLE ojs_queues (
  name          text PRIMARY KEY,
  paused        boolean NOT NULL DEFAULT false,
  rate_per_sec  double precision,
  max_depth     integer,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- A cron schedule fires a tick by moving next_run_at forward with a
-- compare-and-set: of the servers that see the same due tick, one wins.
CREATE TABLE ojs_cron (
  name          text PRIMARY KEY,
  expression    text NOT NULL,
  timezone      text NOT NULL DEFAULT 'UTC',
  template      jsonb NOT NULL,
  next_run_at   timestamptz NOT NULL,
  last_run_at   timestamptz
);

CREATE TABLE ojs_workflows (
  id            text PRIMARY KEY,
  body          jsonb NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ojs_schemas (
  type          text NOT NULL,
  version       text NOT NULL,
  body          jsonb NOT NULL,
  PRIMARY KEY (type, version)
);

CREATE TABLE ojs_rate_limits (
  key           text PRIMARY KEY,
  window_start  timestamptz NOT NULL,
  count         integer NOT NULL
);
`,
  },
  {
    version: 2,
    name: "finished jobs by age, for retention",
    sql: `
CREATE INDEX ojs_jobs_finished ON ojs_jobs (finished_at) WHERE state IN ('completed','cancelled','discarded') AND NOT dead_letter;
`,
  },
  {
    version: 3,
    name: "progress of the running attempt",
    sql: `
-- {value, message, data, updatedAt} of the current attempt (PRG); cleared when a job is claimed.
ALTER TABLE ojs_jobs ADD COLUMN progress jsonb;
`,
  },
  {
    version: 4,
    name: "queue depth bounds",
    sql: `
ALTER TABLE ojs_queues ADD COLUMN warning_threshold double precision;
-- The single-statement enqueue calls this: it aborts the statement when one of
-- the queues has a depth bound, and the server retries with the locked path (depth.ts).
CREATE FUNCTION ojs_refuse_bounded(queues text[]) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM ojs_queues WHERE name = ANY(queues) AND max_depth IS NOT NULL) THEN
    RAISE EXCEPTION 'a queue has a depth bound' USING ERRCODE = 'OJ001';
  END IF;
  RETURN true;
END
$fn$;
`,
  },
  {
    version: 5,
    name: "cron schedules registered through the API",
    sql: `
-- next_run_at of a disabled schedule is far in the future, so the due scan passes it over.
ALTER TABLE ojs_cron
  ADD COLUMN enabled boolean NOT NULL DEFAULT true,
  ADD COLUMN overlap_policy text NOT NULL DEFAULT 'allow',
  ADD COLUMN description text,
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN last_job_id uuid,
  ADD COLUMN run_count integer NOT NULL DEFAULT 0;
`,
  },
  {
    version: 6,
    name: "schemas registered through the API",
    sql: `
-- The version as registered (a number or a string; the key column is its text), and when.
ALTER TABLE ojs_schemas
  ADD COLUMN given_version jsonb,
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
`,
  },
  {
    version: 7,
    name: "workflows in the database",
    sql: `
-- A workflow step's job names its workflow and step. workflow_step is cleared
-- once the workflow has taken the job's outcome (workflows.ts), so a finished
-- job with a step still set is one whose workflow has yet to move on: the
-- partial index finds those for the sweep after a crash between the two.
ALTER TABLE ojs_jobs ADD COLUMN workflow_id text, ADD COLUMN workflow_step text;
CREATE INDEX ojs_jobs_workflow_unsettled ON ojs_jobs (workflow_id)
  WHERE workflow_step IS NOT NULL AND state IN ('completed','cancelled','discarded');
-- The body is the workflow engine's record (steps, outcomes, results); the columns are for listing and retention.
ALTER TABLE ojs_workflows
  ADD COLUMN state text NOT NULL DEFAULT 'running',
  ADD COLUMN kind text NOT NULL DEFAULT 'dag',
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN finished_at timestamptz;
CREATE INDEX ojs_workflows_created ON ojs_workflows (created_at);
CREATE INDEX ojs_workflows_finished ON ojs_workflows (finished_at) WHERE finished_at IS NOT NULL;
`,
  },
  {
    version: 8,
    name: "queue rate limits across servers",
    sql: `
-- ojs_queues.rate_per_sec is the limit; this row holds the start times of the
-- last rate_per_sec claims from the queue (a sliding window of one second). A
-- claim from a limited queue locks the row, so the limit holds over all servers.
CREATE TABLE ojs_queue_rates (
  queue   text PRIMARY KEY,
  starts  timestamptz[] NOT NULL DEFAULT '{}'
);
`,
  },
  {
    version: 9,
    name: "jobs that can expire or time out, for the reaper",
    sql: `
-- The reaper looks for waiting jobs past their expires_at and running jobs past
-- their timeout on every maintenance pass (lifecycle.ts reapExpired); without
-- these indexes that is a scan of the whole table, or of every running job and
-- the dead entries of the lease index, four times a second. Only jobs with an
-- expiry or a timeout are in them, so a job without one does not pay for them.
CREATE INDEX ojs_jobs_expiry ON ojs_jobs (expires_at)
  WHERE expires_at IS NOT NULL AND state IN ('scheduled','available','retryable','pending');
CREATE INDEX ojs_jobs_timeout ON ojs_jobs (started_at) WHERE state = 'active' AND job ? 'timeout';
`,
  },
  {
    version: 10,
    name: "per-job rate limits across servers",
    sql: `
-- The key of a job enqueued with rate_limit (the rate-limiting extension); the
-- key's policy is its row in ojs_rate_limits (job-rate-limits.ts).
ALTER TABLE ojs_jobs ADD COLUMN rate_key text;
-- A key's concurrency is counted from its active jobs; retention asks whether any job still uses a key.
CREATE INDEX ojs_jobs_rate_active ON ojs_jobs (rate_key) WHERE state = 'active' AND rate_key IS NOT NULL;
CREATE INDEX ojs_jobs_rate_key ON ojs_jobs (rate_key) WHERE rate_key IS NOT NULL;
-- The keyed claim looks for waiting jobs of a queue that have a key.
CREATE INDEX ojs_jobs_rate_waiting ON ojs_jobs (queue, priority DESC, run_at, id)
  WHERE rate_key IS NOT NULL AND state IN ('available','scheduled','retryable');
-- One row per key: the policy of the latest job enqueued with it, the queues
-- its jobs went to, the start times of its last rate_limit claims, the next
-- start a throttle allows, and an operator's concurrency override. A keyed
-- claim locks the row, so the limits hold over every server.
ALTER TABLE ojs_rate_limits
  DROP COLUMN window_start,
  DROP COLUMN count,
  ADD COLUMN concurrency integer,
  ADD COLUMN rate_limit integer,
  ADD COLUMN rate_period_ms double precision,
  ADD COLUMN throttle_limit integer,
  ADD COLUMN throttle_period_ms double precision,
  ADD COLUMN queues text[] NOT NULL DEFAULT '{}',
  ADD COLUMN starts timestamptz[] NOT NULL DEFAULT '{}',
  ADD COLUMN next_start_at timestamptz,
  ADD COLUMN override_concurrency integer,
  ADD COLUMN override_until timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
`,
  },
  {
    version: 11,
    name: "events kept in the database",
    sql: `
-- Lifecycle events of jobs, written by triggers in the statement that changes
-- the job (events.ts), so every server reads the same history. Trimmed by
-- count and age by the maintenance pass. data holds what the event adds to
-- job_id, job_type and queue (the reader puts those in), and the job's
-- trace_id and tenant_id when it has them.
CREATE TABLE ojs_events (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  type         text NOT NULL,
  job_id       uuid,
  job_type     text,
  queue        text,
  workflow_id  text,
  data         jsonb NOT NULL
);

-- The trace_id and tenant_id of a job's meta, for its events (the memory store's emit()).
CREATE FUNCTION ojs_event_meta(job jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN job->'meta' ?| array['trace_id', 'tenant_id']
    THEN jsonb_strip_nulls(jsonb_build_object(
      'trace_id', CASE WHEN jsonb_typeof(job->'meta'->'trace_id') = 'string' THEN job->'meta'->'trace_id' END,
      'tenant_id', CASE WHEN jsonb_typeof(job->'meta'->'tenant_id') = 'string' THEN job->'meta'->'tenant_id' END))
    ELSE '{}'::jsonb END
$fn$;

-- The events of one change of state, in order (as the memory store emits them).
CREATE FUNCTION ojs_transition_events(old_state text, new_state text, released boolean, err_code text, expired boolean, dead boolean)
RETURNS text[] LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE
    WHEN new_state = 'active' THEN ARRAY['job.started']
    WHEN new_state = 'completed' THEN ARRAY['job.completed']
    WHEN new_state = 'cancelled' THEN ARRAY['job.cancelled']
    WHEN released THEN ARRAY['job.requeued']
    WHEN old_state = 'discarded' THEN ARRAY['job.retried']
    WHEN old_state <> 'active' AND new_state = 'discarded' AND expired THEN ARRAY['job.expired']
    WHEN old_state <> 'active' THEN ARRAY[]::text[]
    WHEN err_code = 'visibility_timeout' THEN
      CASE WHEN new_state = 'discarded' THEN ARRAY['job.reclaimed', 'job.discarded'] || CASE WHEN dead THEN ARRAY['job.dead_lettered'] ELSE ARRAY[]::text[] END
      ELSE ARRAY['job.reclaimed'] END
    WHEN new_state = 'retryable' THEN ARRAY['job.failed', 'job.retrying']
    WHEN new_state = 'discarded' THEN ARRAY['job.failed', 'job.discarded'] || CASE WHEN dead THEN ARRAY['job.dead_lettered'] ELSE ARRAY[]::text[] END
    WHEN new_state = 'available' THEN ARRAY['job.failed']
    ELSE ARRAY[]::text[] END
$fn$;

CREATE FUNCTION ojs_job_inserted_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ojs_events (type, job_id, job_type, queue, workflow_id, data)
  SELECT t.type, n.id, n.type, n.queue, n.workflow_id,
    CASE t.type
      WHEN 'job.scheduled' THEN jsonb_build_object('scheduled_at', n.run_at)
      WHEN 'job.started' THEN jsonb_build_object('attempt', n.attempt, 'worker_id', coalesce(n.worker_id, ''))
      ELSE '{}'::jsonb END || ojs_event_meta(n.job)
  FROM new_rows n
  -- A job handed to a waiting consumer as it is enqueued (handoff.ts) is inserted active: it started too.
  CROSS JOIN LATERAL unnest(CASE n.state
    WHEN 'scheduled' THEN ARRAY['job.enqueued', 'job.scheduled']
    WHEN 'active' THEN ARRAY['job.enqueued', 'job.started']
    ELSE ARRAY['job.enqueued'] END) WITH ORDINALITY AS t(type, ord)
  ORDER BY n.created_at, n.id, t.ord;
  RETURN NULL;
END
$fn$;

-- One statement-level trigger per UPDATE: the state changes of all its rows
-- become events in one INSERT (a claim of 256 jobs is one insert, not 256);
-- an update that changes no state (a heartbeat) inserts nothing.
CREATE FUNCTION ojs_job_updated_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ojs_events (type, job_id, job_type, queue, workflow_id, data)
  SELECT t.type, n.id, n.type, n.queue, n.workflow_id,
    CASE t.type
      WHEN 'job.started' THEN jsonb_build_object('attempt', n.attempt, 'worker_id', coalesce(n.worker_id, ''))
      WHEN 'job.completed' THEN jsonb_build_object('attempt', n.attempt,
        'duration_ms', coalesce(round(extract(epoch FROM n.finished_at - n.started_at) * 1000)::bigint, 0))
        || CASE WHEN n.job ? 'result' THEN jsonb_build_object('result', n.job->'result') ELSE '{}'::jsonb END
      WHEN 'job.requeued' THEN jsonb_build_object('reason', 'released')
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

CREATE TRIGGER ojs_jobs_inserted_events AFTER INSERT ON ojs_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ojs_job_inserted_events();
CREATE TRIGGER ojs_jobs_updated_events AFTER UPDATE ON ojs_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ojs_job_updated_events();
`,
  },
  {
    version: 12,
    name: "event metadata inlined into the event triggers",
    sql: `
-- ojs_event_meta was declared IMMUTABLE over jsonb_build_object, which is only
-- STABLE, so PostgreSQL would not inline it and ran it as a function call of
-- its own for every event row (an executor start and end each): about half of
-- what the insert trigger cost an enqueue. Declared STABLE (what it is), it is
-- inlined into the triggers' INSERT ... SELECT.
ALTER FUNCTION ojs_event_meta(jsonb) STABLE;
`,
  },
  {
    version: 13,
    name: "events of inserted jobs written by the inserting statement",
    sql: `
-- The store's statements that insert jobs write their events in a CTE of their
-- own (inserted-events.ts), on connections that say so with the setting
-- ojs.events_inline = on (pg-store.ts): for their rows the insert trigger does
-- not fire (a row-level trigger's WHEN is checked per row before anything is
-- queued), where the statement-level trigger cost each enqueue a transition
-- table, a PL/pgSQL call and an SPI query besides the same insert into
-- ojs_events. Every other insert (a server older than this migration still
-- running beside a newer one during an upgrade, a row inserted by hand) gets
-- its events from the trigger as before, per row now. A setting, not a column
-- of ojs_jobs: a new column changes the rows an older server's prepared
-- SELECT * and RETURNING * return, which PostgreSQL refuses to run until they
-- are prepared again (a failed request inside a transaction; outside one,
-- postgres.js 3.4.9 runs them again with its JSON parameters encoded twice).
CREATE FUNCTION ojs_job_inserted_row_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ojs_events (type, job_id, job_type, queue, workflow_id, data)
  SELECT t.type, NEW.id, NEW.type, NEW.queue, NEW.workflow_id,
    CASE t.type
      WHEN 'job.scheduled' THEN jsonb_build_object('scheduled_at', NEW.run_at)
      WHEN 'job.started' THEN jsonb_build_object('attempt', NEW.attempt, 'worker_id', coalesce(NEW.worker_id, ''))
      ELSE '{}'::jsonb END || ojs_event_meta(NEW.job)
  FROM unnest(CASE NEW.state
    WHEN 'scheduled' THEN ARRAY['job.enqueued', 'job.scheduled']
    WHEN 'active' THEN ARRAY['job.enqueued', 'job.started']
    ELSE ARRAY['job.enqueued'] END) WITH ORDINALITY AS t(type, ord)
  ORDER BY t.ord;
  RETURN NULL;
END
$fn$;

DROP TRIGGER ojs_jobs_inserted_events ON ojs_jobs;
DROP FUNCTION ojs_job_inserted_events();
CREATE TRIGGER ojs_jobs_inserted_events AFTER INSERT ON ojs_jobs
  FOR EACH ROW WHEN (current_setting('ojs.events_inline', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION ojs_job_inserted_row_events();
`,
  },
  {
    version: 14,
    name: "checkpoints of the durable-execution extension",
    sql: `
-- One checkpoint per job (checkpoints.ts): the last state a worker saved and
-- how many saves since the row was created. Dropped with its job. A table of
-- its own rather than a column of ojs_jobs, for the reason migration 13 gives.
CREATE TABLE ojs_checkpoints (
  job_id     uuid PRIMARY KEY REFERENCES ojs_jobs (id) ON DELETE CASCADE,
  state      jsonb NOT NULL,
  sequence   integer NOT NULL,
  created_at timestamptz NOT NULL
);
`,
  },
  ...LATER_MIGRATIONS,
];

/**
 * Creates or upgrades the schema. Safe to call from many servers at once. Returns the versions it
 * applied. `upTo` stops at that version (tests build the schema an older server left).
 */
export async function migrate(sql: Sql, upTo = Infinity): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS ojs_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set((await tx<{ version: number }[]>`SELECT version FROM ojs_migrations`).map((r) => r.version));
    const newest = Math.max(0, ...done);
    const known = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (newest > known) throw new Error(`the database schema is version ${newest}, newer than this server knows (${known}): upgrade ojs-connect`);
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version) || m.version > upTo) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO ojs_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return applied;
  });
}
