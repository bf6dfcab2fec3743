/**
 * Durability after the fact, for commits made with synchronous_commit off.
 *
 * A hand-off (handoff.ts) commits without waiting for its WAL flush so that
 * its job is pushed to the waiting worker at once; its enqueue must still be
 * answered only once that commit is on disk. PostgreSQL writes WAL in one
 * order, and a synchronous commit flushes the WAL up to its own commit record,
 * so any synchronous commit that writes WAL and starts after the hand-off's
 * commit answered covers it: this barrier is that commit.
 * `pg_logical_emit_message(true, ...)` makes a transaction write a WAL record
 * (a logical decoding message: no table, no row, no lock); the implicit
 * transaction of the statement then commits with the pool's
 * synchronous_commit, which flushes (or, with synchronous standbys, waits for
 * them) as the enqueue's own commit would have.
 *
 * Callers of one turn share a statement (one flush for all of them, as a group
 * commit would); a barrier already running may have started before a caller's
 * commit, so a caller never joins it, only the next one. The statement leaves
 * in the check phase, after node:http2 has sent what the turn wrote to other
 * sessions (raw.ts, push-order.ts): the push of the job it follows goes out
 * first, instead of waiting while this process writes the barrier.
 */
import type { Sql } from "postgres";
import { onMicrotask } from "../../../util/microtask.js";

/** The prefix of the (empty) messages, for whoever decodes the WAL. */
const PREFIX = "ojs-connect.barrier";

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class WalBarrier {
  private waiting: Waiter[] = [];
  private queued = false;
  private readonly runNow = (): void => this.run();
  /** Queued behind the turn's microtasks (the push's own write among them), so behind node:http2's flush of it. */
  private readonly runLater = (): void => void setImmediate(this.runNow);

  /** `sql`: a pool that commits synchronously (the store's main pool). */
  constructor(private readonly sql: Sql) {}

  /** Resolves once every commit that had answered before this call is as durable as a synchronous commit; rejects when that cannot be known. */
  covering(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.queued) {
        this.queued = true;
        onMicrotask(this.runLater);
      }
    });
  }

  private run(): void {
    this.queued = false;
    const group = this.waiting;
    this.waiting = [];
    this.sql`SELECT pg_logical_emit_message(true, ${PREFIX}, '')`.then(
      () => {
        for (const w of group) w.resolve();
      },
      (e: unknown) => {
        for (const w of group) w.reject(e);
      },
    );
  }
}

/**
 * Whether this database lets the store's role write the barrier's message
 * (a hardened database may have revoked it from PUBLIC). Without it, a
 * hand-off commits synchronously and is pushed after its flush.
 */
export async function barrierAllowed(sql: Sql): Promise<boolean> {
  const [r] = await sql<{ ok: boolean }[]>`
    SELECT coalesce(has_function_privilege('pg_catalog.pg_logical_emit_message(boolean, text, text)', 'EXECUTE'), false) AS ok`;
  return r?.ok === true;
}
