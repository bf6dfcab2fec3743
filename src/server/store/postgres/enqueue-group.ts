/**
 * Group commit of single enqueues: the enqueues of one server that arrive
 * while its earlier enqueue statements are still running go to the database
 * together, as one statement (plain-insert.ts), so one commit and one WAL
 * flush for all of them instead of one each. Each caller is answered only
 * once that statement has committed (synchronous_commit on: once its commit
 * is durable), as before.
 *
 * An enqueue is not held back to wait for company: while fewer than
 * MAX_IN_FLIGHT statements are running, what is waiting goes at the end of
 * the current turn, so a lone caller (sequential enqueues) pays one turn at
 * most. Only when MAX_IN_FLIGHT are running do enqueues wait, and then the
 * next statement takes all of them (up to MAX_GROUP): the busier the server,
 * the larger the groups, and the fewer commits per job.
 *
 * A group is all or nothing in PostgreSQL, but its callers are not one
 * request: when the statement is refused for what one job holds (a
 * client-chosen id that exists, a bounded queue, a value PostgreSQL will not
 * take), nothing was inserted and each job is enqueued again on its own, so
 * only the job at fault fails, with the error it would have had alone. Any
 * other failure (the database out of reach, a statement cancelled) is every
 * caller's answer: whether it committed is not known, and enqueueing again
 * could store a job twice.
 *
 * Only jobs that take the plain statement alone come here (no unique key, no
 * per-job rate limit, not a workflow step): pg-store.ts sends the others to
 * enqueueBuilt.
 */
import type { Sql } from "postgres";
import { onMicrotask } from "../../../util/microtask.js";
import { enqueueBuilt, enqueueLocked, type BuiltJob, type EnqueueOutcome } from "./enqueue.js";
import { insertPlain } from "./plain-insert.js";
import { insertError } from "./insert-rows.js";
import { isBoundedRefusal } from "./depth.js";

/**
 * Statements running at once: enough for the next group to be inserted while
 * the previous one waits for its flush, few enough that the waiting callers
 * gather into groups instead of taking the pool's every connection.
 */
const MAX_IN_FLIGHT = 2;

/** Jobs per statement at most (one jsonb parameter of their rows); more wait for the next. */
const MAX_GROUP = 256;

interface Waiter {
  built: BuiltJob;
  resolve: (o: EnqueueOutcome) => void;
  reject: (e: unknown) => void;
}

/** The errors that say a statement was refused for what it carried: nothing was written, and the jobs may go again one by one. */
function refusedForContent(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  // Class 22 (data exception), 23 (integrity constraint violation), and the bounded-queue refusal (depth.ts).
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23") || isBoundedRefusal(e));
}

export class EnqueueGroups {
  private waiting: Waiter[] = [];
  private inFlight = 0;
  private queued = false;
  private readonly runNow = (): void => this.run();

  /** `sql`: the store's main pool (synchronous commit). */
  constructor(private readonly sql: Sql) {}

  enqueue(built: BuiltJob): Promise<EnqueueOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ built, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.queued || this.inFlight >= MAX_IN_FLIGHT || this.waiting.length === 0) return;
    this.queued = true;
    // At the end of the turn: the enqueues that arrived in the same turn (one read of a connection) go together.
    onMicrotask(this.runNow);
  }

  private run(): void {
    this.queued = false;
    while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length > 0) {
      const group = this.waiting.length <= MAX_GROUP ? this.waiting : this.waiting.slice(0, MAX_GROUP);
      this.waiting = this.waiting.length <= MAX_GROUP ? [] : this.waiting.slice(MAX_GROUP);
      this.inFlight++;
      void this.send(group).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /** Never rejects: every waiter of the group is answered. */
  private async send(group: readonly Waiter[]): Promise<void> {
    let out: EnqueueOutcome[];
    try {
      out = await insertPlain(
        this.sql,
        group.map((w) => w.built),
      );
    } catch (e) {
      if (!refusedForContent(e)) {
        for (const w of group) w.reject(e);
        return;
      }
      if (group.length === 1) {
        const w = group[0]!;
        // Alone, the error is its own: a bounded queue takes the locked path (depth.ts), the rest is answered.
        if (isBoundedRefusal(e)) await enqueueLocked(this.sql, [w.built]).then(([o]) => w.resolve(o!), w.reject);
        else w.reject(insertError(e));
        return;
      }
      // One by one, each with its own answer (the locked path for a bounded queue, DuplicateJobError for an id taken).
      await Promise.all(group.map((w) => enqueueBuilt(this.sql, [w.built]).then(([o]) => w.resolve(o!), w.reject)));
      return;
    }
    for (let i = 0; i < group.length; i++) group[i]!.resolve(out[i]!);
  }
}
