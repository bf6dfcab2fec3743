/**
 * What an event feed keeps up with while nobody on its server listens
 * (events.ts EventFeed): the newest event's seq, and which seqs after the
 * feed's last one no committed event had at that moment (gaps). A listener
 * that comes later gets every event after that newest one, and every gap
 * that commits within the feed's hole time: an insert that took its seq
 * before the watch was read but commits after the listener came (seqs are
 * taken in insert order, not commit order) is a gap of the watch, asked for
 * again as the listening feed asks for its own holes.
 *
 * It is read by the maintenance probe (maintenance-probe.ts), a statement that
 * runs four times a second anyway, not by a statement of its own: an idle
 * feed that read the newest seq itself every 100 ms was two thirds of an idle
 * server's statements (docs/performance-pgidle.md). Read before the listener
 * comes, never after: a start point read after the subscription would pass
 * over whatever committed between the two.
 */
import type { Sql } from "postgres";

export interface EventWatch {
  /** The newest event's seq (0 when there is none). */
  newest: bigint;
  /** Seqs after the watch's start, up to `newest`, that no committed event had: ranges [first, last]. */
  gaps: Array<readonly [bigint, bigint]>;
}

/** What the maintenance pass asks for and tells the watch to (PgJobStore.eventWatch); EventFeed is one. */
export interface EventWatcher {
  /** The seq after which gaps are looked for, or undefined while somebody listens (the feed reads the events then). */
  watchAfter(): bigint | undefined;
  /** A watch read after `after`, asked for at `sentAt` (epoch ms). */
  applyWatch(w: EventWatch, after: bigint, sentAt: number): void;
}

/**
 * Seqs looked at per watch for gaps: 40 000 a second at four watches a second.
 * Beyond them (a server idle beside a faster writer) the watch still moves to
 * the newest seq; gaps among the ones not looked at are given up, as the feed
 * gives up holes past its bound.
 */
const SCAN = 10_000;
/** Gap ranges per watch (each a rolled-back or still uncommitted insert, or a batch of them). */
const MAX_GAPS = 1000;

/**
 * The watch's two columns, for a select list. `after` is one of our bigints,
 * written as a literal: the maintenance probe runs over the simple protocol,
 * which has no parameters. The seqs looked at are a range of the primary key
 * bounded at both ends, not "after `after`, the first SCAN": without the
 * table's statistics (a young table autovacuum has not analysed yet) the
 * planner takes an open range for a third of the table and reads all of it
 * (0.3 ms at 5 000 events, each probe), a closed one for a few rows and reads
 * the index (0.03 ms).
 */
export function eventWatchColumns(after: bigint): string {
  const from = `${after.toString()}::bigint`;
  return `(SELECT max(seq) FROM ojs_events)::text AS "eventsNewest",
      (SELECT string_agg(lo::text || '-' || hi::text, ',') FROM (
        SELECT prev + 1 AS lo, seq - 1 AS hi FROM (
          SELECT seq, lag(seq, 1, ${from}) OVER (ORDER BY seq) AS prev
          FROM ojs_events WHERE seq > ${from} AND seq <= ${from} + ${SCAN}) paired
        WHERE seq - prev > 1 LIMIT ${MAX_GAPS}) gaps) AS "eventsGaps"`;
}

export interface EventWatchRow {
  eventsNewest: string | null;
  eventsGaps: string | null;
}

export function parseEventWatch(row: EventWatchRow): EventWatch {
  const gaps = (row.eventsGaps ?? "")
    .split(",")
    .filter((g) => g !== "")
    .map((g) => {
      const [lo, hi] = g.split("-");
      return [BigInt(lo!), BigInt(hi!)] as const;
    });
  return { newest: BigInt(row.eventsNewest ?? 0), gaps };
}

/** The watch read on its own: for a feed whose maintenance pass is off or late. */
export async function readEventWatch(sql: Sql, after: bigint): Promise<EventWatch> {
  const [row] = await sql.unsafe<EventWatchRow[]>(`SELECT ${eventWatchColumns(after)}`);
  return parseEventWatch(row!);
}
