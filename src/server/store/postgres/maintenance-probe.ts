/**
 * What a maintenance pass has to do, asked in one statement. The pass runs
 * four times a second on every server; asking each of its questions with the
 * statement that does the work (the rate-limited queues, the keyed queues, the
 * three reapers, the due cron ticks, the stray workflow steps) cost about eight
 * round trips a pass, each a wake-up of this process and of a backend, for
 * nothing when, as almost always, nothing is due. The probe reads only the
 * partial indexes each of those statements reads (migrations 1, 7, 9; the reapers'
 * conditions are shared with lifecycle.ts), so it is
 * as cheap as an empty pass of theirs, once; the pass then runs only the work
 * the probe found. It is a read, so servers probing together change nothing:
 * whichever then runs a reaper or fires a tick takes its rows as before (SKIP
 * LOCKED, compare-and-set), and what falls due after the probe is found by the
 * next pass, as it was by the next pass before.
 *
 * It goes over the simple protocol, planned on every run, not as a prepared
 * statement: it has no parameters, so PostgreSQL keeps the one generic plan it
 * made on first use, when a new database's ojs_jobs was empty and a sequential
 * scan was the cheapest way to find a stray workflow step. That plan stayed
 * (nothing invalidates it until a vacuum or analyze of the table), and the
 * probe read every row of a growing table four times a second: 14 ms a pass
 * with 20 000 jobs, a third of PostgreSQL's CPU per job while a worker drained
 * them. Planned afresh, with the table's actual size, it reads the indexes.
 *
 * While nobody listens to this server's events, the probe also reads the event
 * feed's watch (event-watch.ts: the newest event's seq and the gaps below it),
 * so that the idle feed sends no statement of its own.
 */
import type { Sql } from "postgres";
import { attemptTimedOut, leaseExpired, waitingExpired } from "./lifecycle.js";
import { eventWatchColumns, parseEventWatch, type EventWatch, type EventWatchRow } from "./event-watch.js";

export interface MaintenanceProbe {
  /** Queues with a rate limit (LimitedQueues). */
  limited: string[];
  /** Queues that jobs with a rate-limit key went to (KeyedQueues). */
  keyed: string[];
  /** Tenants with a max_queue_depth (tenants.ts): their enqueues go straight to the locked path. */
  limitedTenants: string[];
  /** An active job's lease ran out, a waiting job expired or an attempt ran past its timeout (reapExpired). */
  reap: boolean;
  /** A cron schedule is due (fireDueCron). */
  cron: boolean;
  /** A finished workflow step whose workflow has yet to move on (PgWorkflows.settleStray). */
  strayWorkflowSteps: boolean;
  /** The event feed's watch after `eventsAfter`, when it was asked for. */
  events?: EventWatch;
}

export async function probeMaintenance(sql: Sql, eventsAfter?: bigint): Promise<MaintenanceProbe> {
  const watch = eventsAfter === undefined ? sql`` : sql`, ${sql.unsafe(eventWatchColumns(eventsAfter))}`;
  const [row] = await sql<Array<MaintenanceProbe & Partial<EventWatchRow>>>`
    SELECT
      coalesce((SELECT array_agg(name) FROM ojs_queues WHERE rate_per_sec IS NOT NULL), '{}') AS limited,
      coalesce((SELECT array_agg(DISTINCT q) FROM ojs_rate_limits, unnest(queues) AS q), '{}') AS keyed,
      coalesce((SELECT array_agg(tenant) FROM (SELECT tenant FROM ojs_tenant_limits LIMIT 1000) t), '{}') AS "limitedTenants",
      EXISTS (SELECT 1 FROM ojs_jobs WHERE ${leaseExpired(sql)})
        OR EXISTS (SELECT 1 FROM ojs_jobs WHERE ${waitingExpired(sql)})
        OR EXISTS (SELECT 1 FROM ojs_jobs WHERE ${attemptTimedOut(sql)}) AS reap,
      EXISTS (SELECT 1 FROM ojs_cron WHERE next_run_at <= now() AND enabled) AS cron,
      EXISTS (SELECT 1 FROM ojs_jobs WHERE workflow_step IS NOT NULL AND state IN ('completed', 'cancelled', 'discarded')) AS "strayWorkflowSteps"
      ${watch}`.simple();
  const { eventsNewest, eventsGaps, ...probe } = row!;
  return eventsAfter === undefined ? probe : { ...probe, events: parseEventWatch({ eventsNewest: eventsNewest ?? null, eventsGaps: eventsGaps ?? null }) };
}
