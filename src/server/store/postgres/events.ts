/**
 * Events on PostgreSQL, shared by every server on the database. Triggers on
 * ojs_jobs (migration 11) write a job's lifecycle events into ojs_events in
 * the statement that changes the job, so an event exists exactly when its
 * change committed, whichever server (or the reaper, or a cron tick) made it.
 *
 * - recentEvents (GET /events, SSE resume) reads the table.
 * - trimEvents (the maintenance pass) keeps it bounded by count and age.
 * - EventFeed hands the events of every server to this server's event bus
 *   (SSE, gRPC StreamEvents, webhooks), by polling the table while somebody
 *   listens. Identity values are taken in insert order, not commit order, so a
 *   feed that only read "after the highest seen" could pass over an event
 *   whose transaction committed late; the feed asks again for such holes for a
 *   while (HOLE_MS) before it gives up on them (a rolled-back insert leaves a
 *   hole for good). While nobody listens it sends nothing: the maintenance
 *   probe brings it the newest seq and the gaps (event-watch.ts).
 */
import type { Sql, TransactionSql } from "postgres";
import type { OjsEvent } from "../../../model/events.js";
import type { JsonObject } from "../../../model/json.js";
import { matchesFilter, type ScopedEventFilter } from "../event-bus.js";
import { readEventWatch, type EventWatch, type EventWatcher } from "./event-watch.js";

interface EventRow {
  seq: string;
  at: Date;
  type: string;
  job_id: string | null;
  job_type: string | null;
  queue: string | null;
  workflow_id: string | null;
  data: JsonObject;
}

/** An event's id is its place in the table: `evt_<seq>`, unique in the database and ordered. */
export function eventId(seq: string | number | bigint): string {
  return `evt_${String(seq)}`;
}

/** The seq of an id made by eventId(), or undefined for any other id. */
export function seqOf(id: string): bigint | undefined {
  const m = /^evt_(\d{1,19})$/.exec(id);
  return m ? BigInt(m[1]!) : undefined;
}

function toEvent(r: EventRow): OjsEvent {
  // A job's event carries its job_id, job_type and queue in data too (as the memory store's), put in here rather than stored twice.
  const data = r.job_id ? { job_id: r.job_id, job_type: r.job_type ?? "", queue: r.queue ?? "", ...r.data } : r.data;
  const e: OjsEvent = { id: eventId(r.seq), type: r.type, time: r.at, data };
  if (r.job_id) e.jobId = r.job_id;
  if (r.job_type) e.jobType = r.job_type;
  if (r.queue) e.queue = r.queue;
  if (r.workflow_id) e.workflowId = r.workflow_id;
  return e;
}

/** LIKE pattern of a type filter: exact, or a prefix when it ends in "*". */
function typePattern(t: string): string {
  const escaped = t.replace(/[\\%_]/g, (c) => `\\${c}`);
  return escaped.endsWith("*") ? `${escaped.slice(0, -1)}%` : escaped;
}

// The queries below select `seq::text AS seq` (a bigint can exceed a JavaScript number) and therefore
// order by `ojs_events.seq`: a bare `ORDER BY seq` names the text column, which sorts evt_10 before evt_9.

/**
 * The newest `limit` events matching the filter, oldest first (JobReads.recentEvents).
 * `afterId` (an SSE Last-Event-ID) keeps only the events after it.
 */
export async function recentEvents(sql: Sql, filter: ScopedEventFilter, limit: number, afterId?: string): Promise<OjsEvent[]> {
  const n = Math.max(0, Math.min(Math.floor(limit), 1000));
  if (n === 0) return [];
  const queues = filter.queues?.length ? filter.queues : null;
  const types = filter.types?.length ? filter.types.map(typePattern) : null;
  const after = afterId !== undefined ? (seqOf(afterId) ?? null) : null;
  const rows = await sql<EventRow[]>`
    SELECT seq::text AS seq, at, type, job_id, job_type, queue, workflow_id, data FROM ojs_events
    WHERE (${queues}::text[] IS NULL OR queue = ANY(${queues}::text[]))
      AND (${types}::text[] IS NULL OR type LIKE ANY(${types}::text[]))
      AND (${filter.jobId ?? null}::uuid IS NULL OR job_id = ${filter.jobId ?? null}::uuid)
      AND (${filter.workflowId ?? null}::text IS NULL OR workflow_id = ${filter.workflowId ?? null})
      AND (${filter.tenant ?? null}::text IS NULL OR data->>'tenant_id' = ${filter.tenant ?? null})
      AND (${after === null ? null : after.toString()}::bigint IS NULL OR seq > ${after === null ? null : after.toString()}::bigint)
    ORDER BY ojs_events.seq DESC LIMIT ${n}`;
  // The SQL filter is the bus's filter (event-bus.ts); checked again so that both answer alike.
  return rows
    .reverse()
    .map(toEvent)
    .filter((e) => matchesFilter(e, filter));
}

export interface EventRetention {
  /** At most this many events are kept (the newest). Default 100 000. */
  maxEvents?: number;
  /** Events older than this are deleted. Default 1 h. */
  maxAgeMs?: number;
}

/** The seq of the newest event (0 when there is none). */
export async function newestEventSeq(sql: Sql): Promise<bigint> {
  const [r] = await sql<{ max: string | null }[]>`SELECT max(seq)::text AS max FROM ojs_events`;
  return BigInt(r?.max ?? 0);
}

/**
 * Deletes events past the retention, oldest first, at most `batch` per call (the next pass does the rest).
 *
 * Both bounds become one seq below which everything goes, found through the
 * primary key: by count, the newest seq minus maxEvents; by age, the first
 * event young enough to keep, read in seq order (events are numbered in the
 * order they are written, so the old ones are the first ones). A filter on
 * the age of every row instead would read the whole table (100 000 rows by
 * default) on every pass, once a second, whether or not anything is due.
 * An old event numbered after a young one (a transaction that began earlier
 * but wrote later, by a few milliseconds) goes on the pass after that one.
 *
 * The batch is a range of seqs, from the oldest to at most `batch` - 1 past
 * it, both ends from the primary key: PostgreSQL reads such a range by the
 * index. Its earlier form (the first `batch` seqs up to the bound, ORDER BY
 * seq LIMIT batch, the bound a subquery's value) was planned as a sequential
 * scan of the whole table and a sort, on every pass even with nothing to
 * delete: once a second on every server, 4-23 ms at 60 000 events.
 */
export async function trimEvents(sql: Sql | TransactionSql, retention: EventRetention = {}, batch = 10_000): Promise<number> {
  const maxEvents = retention.maxEvents ?? 100_000;
  const maxAgeMs = retention.maxAgeMs ?? 3600_000;
  const r = await sql`
    WITH newest AS (SELECT max(seq) AS seq FROM ojs_events),
      oldest AS (SELECT min(seq) AS seq FROM ojs_events),
      kept AS (SELECT seq FROM ojs_events WHERE at >= now() - make_interval(secs => ${maxAgeMs / 1000}) ORDER BY seq LIMIT 1),
      upto AS (
        SELECT least(greatest(newest.seq - ${maxEvents}::bigint, coalesce((SELECT seq - 1 FROM kept), newest.seq)), oldest.seq + ${batch}::bigint - 1) AS seq
        FROM newest, oldest)
    DELETE FROM ojs_events WHERE seq >= (SELECT seq FROM oldest) AND seq <= (SELECT seq FROM upto)`;
  return r.count;
}

/** How long the feed keeps asking for an event missing between two it has seen. */
const HOLE_MS = 2000;
/** At most this many holes are remembered; more (a huge batch still uncommitted) are given up at once. */
const MAX_HOLES = 10_000;
/** Events read per query, and queries per poll: up to 100 000 events a second at the default 100 ms. */
const PAGE = 1000;
const MAX_PAGES = 10;
/**
 * A feed nobody listens to reads the watch itself when the last one it has is
 * older than this: the maintenance pass that brings it (four a second) is off,
 * or stuck in long work. A listener may get the events of up to this long
 * before it came; none after.
 */
const WATCH_STALE_MS = 1000;

export interface EventSink {
  readonly hasListeners: boolean;
  publish(e: OjsEvent): void;
}

/**
 * Polls ojs_events and publishes what is new to the sink while it has
 * listeners, in seq order within each poll; while it has none, it only keeps up
 * with the newest event and the gaps below it (what came before a listener is
 * history: recentEvents), from the watch the maintenance probe reads
 * (applyWatch), or reads that watch itself when none came for WATCH_STALE_MS.
 * At most one poll runs at a time; errors go to onError and the next tick
 * tries again.
 *
 * Why a listener misses nothing: `highest` and `holes` only ever come from
 * reads that finished, so from snapshots taken before now. When a listener
 * subscribes, every event committed later either has a seq above `highest`
 * (the next poll reads it) or is in `holes` (asked for again), because a seq
 * at or below `highest` that the snapshot did not have was recorded as a hole
 * (within the same bounds as any hole: HOLE_MS, MAX_HOLES, the watch's scan).
 * A watch whose snapshot may be younger than a listener (it arrives while one
 * listens, or after a poll of the feed moved on) is dropped. The start read at
 * open has no gaps: an insert in flight across a server's start and a
 * listener's arrival is the one case left.
 */
export class EventFeed implements EventWatcher {
  /** Highest seq seen. */
  private highest: bigint;
  /** Seqs below `highest` not seen yet, with when they were first missed. */
  private readonly holes = new Map<bigint, number>();
  /** The poll running, if any: one at a time. */
  private current: Promise<void> | undefined;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  /** When the read that `highest` and `holes` come from was sent (epoch ms). */
  private watchedAt = Date.now();
  /** Events published (for tests and stats). */
  published = 0;
  /** Statements this feed sent (for tests and stats): none while nobody listens and the maintenance probe keeps it up. */
  reads = 0;

  constructor(
    private readonly sql: Sql,
    private readonly sink: EventSink,
    intervalMs: number,
    private readonly onError: (e: unknown) => void,
    /** The newest event when the feed starts (newestEventSeq): what comes after it is news. */
    start: bigint,
  ) {
    this.highest = start;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  /** One poll (also run by the timer); the one running, if there is one. */
  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.current ??= this.read().finally(() => (this.current = undefined));
    return this.current;
  }

  /**
   * Publishes every event committed before the call, before it resolves: a
   * poll that was running may have read before them, so one more follows it.
   * A reader that must see what the server's own answered operations caused
   * (the webhook deliveries they queued) asks for it; the memory and journal
   * stores publish an operation's events before they answer it.
   */
  async catchUp(): Promise<void> {
    await this.current;
    await this.poll();
  }

  /** The seq after which the maintenance probe should look (EventWatcher), or undefined while somebody listens. */
  watchAfter(): bigint | undefined {
    return this.closed || this.sink.hasListeners ? undefined : this.highest;
  }

  /** The maintenance probe's watch (EventWatcher): taken unless a poll of the feed is running, which may move `highest`. */
  applyWatch(w: EventWatch, after: bigint, sentAt: number): void {
    if (this.current === undefined && !this.closed) this.takeWatch(w, after, sentAt);
  }

  private takeWatch(w: EventWatch, after: bigint, sentAt: number): void {
    // A listener now may have come before the watch's snapshot; a moved `highest` means a poll read past `after`.
    if (this.sink.hasListeners || this.highest !== after) return;
    for (const [s, since] of this.holes) if (sentAt - since > HOLE_MS) this.holes.delete(s);
    for (const [lo, hi] of w.gaps) for (let s = lo; s <= hi && this.holes.size < MAX_HOLES; s++) this.holes.set(s, sentAt);
    if (w.newest > this.highest) this.highest = w.newest;
    this.watchedAt = sentAt;
  }

  private async read(): Promise<void> {
    try {
      const sentAt = Date.now();
      if (!this.sink.hasListeners) {
        // Nobody listens: the maintenance probe keeps the watch; read it here only when it stopped coming.
        if (sentAt - this.watchedAt < WATCH_STALE_MS) return;
        const after = this.highest;
        this.reads++;
        this.takeWatch(await readEventWatch(this.sql, after), after, sentAt);
        return;
      }
      await this.readHoles();
      // A full page means more are waiting: read on, up to MAX_PAGES a poll, so a busy database does not leave the feed behind.
      for (let page = 0, full = true; full && page < MAX_PAGES; page++) {
        this.reads++;
        const rows = await this.sql<EventRow[]>`
          SELECT seq::text AS seq, at, type, job_id, job_type, queue, workflow_id, data FROM ojs_events
          WHERE seq > ${this.highest.toString()}::bigint ORDER BY ojs_events.seq LIMIT ${PAGE}`;
        full = rows.length === PAGE;
        const now = Date.now();
        for (const r of rows) {
          const seq = BigInt(r.seq);
          for (let s = this.highest + 1n; s < seq; s++) {
            if (this.holes.size >= MAX_HOLES) break;
            this.holes.set(s, now);
          }
          this.highest = seq;
          this.emit(r);
        }
      }
      // What this poll read is as good as a watch from when it began, for when the last listener leaves.
      this.watchedAt = sentAt;
    } catch (e) {
      if (!this.closed) this.onError(e);
    }
  }

  private async readHoles(): Promise<void> {
    if (this.holes.size === 0) return;
    const now = Date.now();
    for (const [s, since] of this.holes) if (now - since > HOLE_MS) this.holes.delete(s);
    if (this.holes.size === 0) return;
    const wanted = [...this.holes.keys()].map(String);
    this.reads++;
    const rows = await this.sql<EventRow[]>`
      SELECT seq::text AS seq, at, type, job_id, job_type, queue, workflow_id, data FROM ojs_events
      WHERE seq = ANY(${wanted}::bigint[]) ORDER BY ojs_events.seq`;
    for (const r of rows) {
      this.holes.delete(BigInt(r.seq));
      this.emit(r);
    }
  }

  private emit(r: EventRow): void {
    this.published++;
    this.sink.publish(toEvent(r));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
