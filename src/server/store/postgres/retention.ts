/**
 * Retention on PostgreSQL: a queue's rule (count and age per kind, as
 * ../retention.ts has it for the other stores) is a row of
 * ojs_queue_retention, so every server reads and applies the same rule and it
 * outlives them; a job's own keepFor is in its meta and read through the
 * ojs_keep_until index (migration 15). Whichever server's maintenance pass
 * runs applies them (pg-store.ts): deletes take their rows FOR UPDATE SKIP
 * LOCKED, so servers running passes together split the work instead of
 * waiting for each other, and each pass deletes at most `budget` jobs, oldest
 * first, the rest on the next pass. Dead letters are never removed here (the
 * dead-letter queue's own bound and purges are theirs), as on the other stores.
 */
import type { Sql } from "postgres";
import { isJsonObject } from "../../../model/json.js";
import { KEEP_FOR_META } from "../../../model/retention.js";
import { retentionKind, type QueueRetention, type RetentionKind, type RetentionRule } from "../retention.js";
import type { PgJob } from "./rows.js";

interface RuleRow {
  queue: string;
  completed_count: number | null;
  completed_age_ms: number | null;
  discarded_count: number | null;
  discarded_age_ms: number | null;
}

function ruleOf(count: number | null, ageMs: number | null): RetentionRule | undefined {
  if (count === null && ageMs === null) return undefined;
  const r: RetentionRule = {};
  if (count !== null) r.count = count;
  if (ageMs !== null) r.ageMs = ageMs;
  return r;
}

function retentionOfRow(row: RuleRow): QueueRetention | undefined {
  const out: QueueRetention = {};
  const completed = ruleOf(row.completed_count, row.completed_age_ms);
  const discarded = ruleOf(row.discarded_count, row.discarded_age_ms);
  if (completed) out.completed = completed;
  if (discarded) out.discarded = discarded;
  return completed || discarded ? out : undefined;
}

/** Sets a queue's rule (already checked by the codec), replacing the old one; undefined or empty clears it. */
async function setQueueRetention(sql: Sql, queue: string, r: QueueRetention | undefined): Promise<void> {
  if (!r || (!r.completed && !r.discarded)) {
    await sql`DELETE FROM ojs_queue_retention WHERE queue = ${queue}`;
    return;
  }
  const v = {
    cc: r.completed?.count ?? null,
    ca: r.completed?.ageMs ?? null,
    dc: r.discarded?.count ?? null,
    da: r.discarded?.ageMs ?? null,
  };
  await sql`
    INSERT INTO ojs_queue_retention (queue, completed_count, completed_age_ms, discarded_count, discarded_age_ms)
    VALUES (${queue}, ${v.cc}, ${v.ca}, ${v.dc}, ${v.da})
    ON CONFLICT (queue) DO UPDATE SET completed_count = excluded.completed_count, completed_age_ms = excluded.completed_age_ms,
      discarded_count = excluded.discarded_count, discarded_age_ms = excluded.discarded_age_ms, updated_at = now()`;
}

export async function queueRetention(sql: Sql, queue: string): Promise<QueueRetention | undefined> {
  const [row] = await sql<RuleRow[]>`SELECT * FROM ojs_queue_retention WHERE queue = ${queue}`;
  return row && retentionOfRow(row);
}

/**
 * Deletes the finished jobs of one kind of `queue` that the rule says go, the
 * oldest first, at most `limit`. The kind is `(state = 'completed')`, written
 * as the ojs_jobs_finished_queue index has it so that the planner uses it. The
 * count's cut-off (the newest `count`th job) is read without a lock: a job of
 * the newest `count` retried at that moment can cost one job more than the
 * count keeps, never a job the rule keeps otherwise; a deleted row is checked
 * again once locked (still finished, not a dead letter).
 */
async function applyRule(sql: Sql, queue: string, kind: RetentionKind, rule: RetentionRule, limit: number): Promise<number> {
  const completed = kind === "completed";
  let removed = 0;
  if (rule.ageMs !== undefined && limit > 0) {
    const r = await sql`
      DELETE FROM ojs_jobs WHERE id IN (
        SELECT id FROM ojs_jobs
        WHERE queue = ${queue} AND (state = 'completed') = ${completed}
          AND state IN ('completed', 'cancelled', 'discarded') AND NOT dead_letter
          AND finished_at <= now() - make_interval(secs => ${rule.ageMs / 1000})
        ORDER BY queue, (state = 'completed'), finished_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
    removed += r.count;
  }
  if (rule.count !== undefined && limit - removed > 0) {
    const r = await sql`
      WITH cut AS (
        SELECT finished_at, id FROM ojs_jobs
        WHERE queue = ${queue} AND (state = 'completed') = ${completed}
          AND state IN ('completed', 'cancelled', 'discarded') AND NOT dead_letter
        ORDER BY queue DESC, (state = 'completed') DESC, finished_at DESC, id DESC OFFSET ${rule.count} LIMIT 1)
      DELETE FROM ojs_jobs WHERE id IN (
        SELECT j.id FROM ojs_jobs j, cut
        WHERE j.queue = ${queue} AND (j.state = 'completed') = ${completed}
          AND j.state IN ('completed', 'cancelled', 'discarded') AND NOT j.dead_letter
          AND (j.finished_at, j.id) <= (cut.finished_at, cut.id)
        ORDER BY j.queue, (j.state = 'completed'), j.finished_at, j.id LIMIT ${limit - removed} FOR UPDATE OF j SKIP LOCKED)`;
    removed += r.count;
  }
  return removed;
}

/** Queues whose rules one pass applies at most; the next pass goes on from the last. */
const QUEUES_PER_PASS = 50;
/** Most jobs one pass deletes; the rest on the next pass. */
const BUDGET = 1000;
/** A pass asked for by a finish runs no sooner than this after the last one started. */
const KICK_GAP_MS = 50;
/** Most queue names kept to know which finishes ask for a pass (the timer's passes apply every rule regardless). */
const MAX_RULED = 10_000;

/**
 * A server's retention passes. The maintenance timer runs one a second; a job
 * finishing through this server with a keepFor, or in a queue with a rule,
 * asks for one soon (at most one every KICK_GAP_MS), and so does setting a
 * rule, so that a count or a keepFor of 0 applies at once as on the other
 * stores, never inside the statement that finished the job. One pass at a time.
 */
export class PgRetention {
  /** Where in the rules (by queue name) the last pass stopped: every queue gets its turn. */
  private after = "";
  /** Queues with a rule, as this server last saw them (the rules read by passes, those set here). */
  private ruled = new Set<string>();
  private seen = new Set<string>();
  private running: Promise<number> | undefined;
  private lastStart = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Jobs removed by retention passes of this server. */
  removed = 0;

  constructor(
    private readonly sql: Sql,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** A job settled through this server: a pass soon if retention may have something to remove. */
  finished(job: PgJob): void {
    const j = job.job;
    if (job.deadLetter || !retentionKind(j.state)) return;
    if (this.ruled.has(j.queue) || isJsonObject(j.meta?.[KEEP_FOR_META] ?? null)) this.kick();
  }

  /** Sets a queue's rule (already checked by the codec), replacing the old one; undefined or empty clears it. It applies at once. */
  async set(queue: string, r: QueueRetention | undefined): Promise<void> {
    await setQueueRetention(this.sql, queue, r);
    if (r && (r.completed || r.discarded)) {
      if (this.ruled.size < MAX_RULED) this.ruled.add(queue);
      this.kick();
    } else this.ruled.delete(queue);
  }

  /** One pass soon (or after the one running): at most one waits. */
  kick(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pass().catch((e: unknown) => this.closed || this.onError(e));
      },
      Math.max(0, this.lastStart + KICK_GAP_MS - Date.now()),
    );
    this.timer.unref();
  }

  /**
   * One bounded pass (after the one running, if any): jobs whose own keepFor
   * ran out, then the rules of up to QUEUES_PER_PASS queues, at most BUDGET
   * deletions in all. Returns how many jobs went; BUDGET means there may be more.
   */
  async pass(): Promise<number> {
    while (this.running) await this.running.catch(() => undefined);
    if (this.closed) return 0;
    this.lastStart = Date.now();
    this.running = this.once();
    try {
      const n = await this.running;
      this.removed += n;
      if (n >= BUDGET) this.kick();
      return n;
    } finally {
      this.running = undefined;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async once(): Promise<number> {
    const sql = this.sql;
    const due = await sql`
      DELETE FROM ojs_jobs WHERE id IN (
        SELECT id FROM ojs_jobs
        WHERE job->'meta' ? 'ojs-connect.keep_for' AND state IN ('completed', 'cancelled', 'discarded') AND NOT dead_letter
          AND ojs_keep_until(state, finished_at, job) <= now()
        ORDER BY ojs_keep_until(state, finished_at, job) LIMIT ${BUDGET} FOR UPDATE SKIP LOCKED)`;
    let removed = due.count;
    const start = this.after;
    if (start === "") this.seen = new Set();
    const rules = await sql<RuleRow[]>`SELECT * FROM ojs_queue_retention WHERE queue > ${start} ORDER BY queue LIMIT ${QUEUES_PER_PASS}`;
    for (const r of rules) if (this.seen.size < MAX_RULED) this.seen.add(r.queue);
    // Past the last rule, the next pass starts from the first again, and what this cycle saw is what has a rule.
    if (rules.length < QUEUES_PER_PASS) {
      this.after = "";
      this.ruled = this.seen;
    } else this.after = rules[rules.length - 1]!.queue;
    for (let i = 0; i < rules.length; i++) {
      if (removed >= BUDGET) {
        // Out of budget: the queues not reached get their turn first next time.
        this.after = i > 0 ? rules[i - 1]!.queue : start;
        break;
      }
      const r = retentionOfRow(rules[i]!);
      for (const kind of ["completed", "discarded"] as const) {
        const rule = r?.[kind];
        if (rule && removed < BUDGET) removed += await applyRule(sql, rules[i]!.queue, kind, rule, BUDGET - removed);
      }
    }
    return removed;
  }
}
