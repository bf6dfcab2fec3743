/**
 * Queue throughput on PostgreSQL, read from the jobs' own finish times rather
 * than from counters in one server's memory: every server sharing the
 * database sees the same completions and failures of the last hour, and a
 * restarted server does not start from zero.
 *
 * What the rows can tell differs from the memory store's counters: a failure
 * counts when its job finished discarded (an attempt that failed and was
 * retried leaves no finish time), and run and wait times are those of a job's
 * last attempt. Jobs removed within the hour (deleted, purged, pruned by
 * retention) no longer count.
 */
import type { Sql } from "postgres";
import { lastHourFigures, type MinuteCounts } from "../queue.js";

export interface LastHour {
  completed: number;
  failed: number;
  avgDurationMs: number;
  avgWaitMs: number;
  throughputPerSecond: number;
}

interface MinuteRow {
  queue: string;
  minute: number;
  completed: number;
  failed: number;
  dur: number;
  wait: number;
  waits: number;
}

type Hour = Map<string, MinuteRow[]>;

/**
 * One grouped read of the last hour's finished jobs, all queues at once:
 * both arms match a partial index (ojs_jobs_finished, ojs_jobs_dead), so the
 * read is bounded by the hour's finishes, not the table.
 */
async function readHour(sql: Sql): Promise<Hour> {
  const rows = await sql<MinuteRow[]>`
    SELECT queue, (floor(extract(epoch FROM finished_at) / 60) * 60000)::float8 AS minute,
      count(*) FILTER (WHERE state = 'completed')::int AS completed,
      count(*) FILTER (WHERE state = 'discarded')::int AS failed,
      coalesce(sum(extract(epoch FROM finished_at - started_at) * 1000) FILTER (WHERE state = 'completed' AND started_at IS NOT NULL), 0)::float8 AS dur,
      coalesce(sum(greatest(extract(epoch FROM started_at - run_at) * 1000, 0)) FILTER (WHERE started_at IS NOT NULL), 0)::float8 AS wait,
      count(*) FILTER (WHERE started_at IS NOT NULL)::int AS waits
    FROM ojs_jobs
    WHERE (state IN ('completed', 'cancelled', 'discarded') AND NOT dead_letter AND finished_at >= now() - interval '1 hour')
       OR (dead_letter AND finished_at >= now() - interval '1 hour')
    GROUP BY 1, 2 ORDER BY 2`;
  const hour: Hour = new Map();
  for (const r of rows) {
    const list = hour.get(r.queue);
    if (list) list.push(r);
    else hour.set(r.queue, [r]);
  }
  return hour;
}

/**
 * Per-queue minutes of the last hour. Calls made in the same turn of the event
 * loop (a listing of every queue, the stats view) share one read; a call made
 * after it has started waits for the next one, so a caller always sees what
 * was committed before it asked.
 */
export class FinishedStats {
  private next: Promise<Hour> | undefined;

  constructor(private readonly sql: Sql) {}

  private hour(): Promise<Hour> {
    if (this.next) return this.next;
    const p = new Promise<Hour>((resolve, reject) => {
      setImmediate(() => {
        if (this.next === p) this.next = undefined;
        readHour(this.sql).then(resolve, reject);
      });
    });
    this.next = p;
    return p;
  }

  async minutes(queue: string): Promise<MinuteCounts[]> {
    const rows = (await this.hour()).get(queue) ?? [];
    return rows.map((r) => ({ minute: r.minute, completed: r.completed, failed: r.failed }));
  }

  async lastHour(queue: string): Promise<LastHour> {
    let completed = 0;
    let failed = 0;
    let dur = 0;
    let wait = 0;
    let waits = 0;
    for (const r of (await this.hour()).get(queue) ?? []) {
      completed += r.completed;
      failed += r.failed;
      dur += r.dur;
      wait += r.wait;
      waits += r.waits;
    }
    return lastHourFigures(completed, failed, dur, wait, waits);
  }
}
