/**
 * The stream consumers a server holds (StreamJobs) and how jobs reach them.
 * One pump runs at a time: it groups the consumers that have credit by the
 * queues they read, claims for each group in one statement (slots handed out
 * round-robin between the group's consumers), delivers, and runs again while
 * a wake-up arrived meanwhile. Wake-ups come from this server's own writes,
 * from NOTIFY of the other servers, from the reaper, and from a slow poll that
 * catches scheduled and retry times coming due (NOTIFY cannot announce those).
 */
import type { Sql } from "postgres";
import { claim, type LimitedQueues } from "./rate-limits.js";
import { tenantOf } from "./tenants.js";
import type { PgJob } from "./rows.js";
import type { Consumer } from "../records.js";
import { onMicrotask } from "../../../util/microtask.js";

/** A stream consumer as the store's own Consumer (queues, worker, credit, lease, closed), handed PgJobs. */
export interface PgConsumer extends Pick<Consumer, "queues" | "workerId" | "credit" | "visibilityTimeoutMs" | "closed"> {
  readonly deliver: (job: PgJob) => void;
  /** True while the consumer's worker is told to stop (quiet, terminate): it gets nothing. */
  readonly held?: () => boolean;
  /** Multi-tenancy: only this tenant's jobs reach it (claims and hand-offs); none: every job. */
  readonly tenant?: string;
}

/** At most this many jobs per claim statement: a bound on one wake-up's work. */
const MAX_BATCH = 256;

/** At most this many enqueues wait for a claim statement to answer before they hand off (reserveSoon); more take the plain path. */
const MAX_WAITING = 1024;

export class Dispatcher {
  /** Claim statements that ran (and answered) for the consumers: a wake-up that finds a group with credit runs one. */
  claims = 0;
  private readonly consumers = new Set<PgConsumer>();
  private running = false;
  /** True while a claim statement is out: its slots may be filling any consumer's credit. */
  private claiming = false;
  /** Enqueues waiting for the claim statement that is out (reserveSoon), called once it answered. */
  private waiting: Array<() => void> = [];
  private again = false;
  private closed = false;

  /**
   * `giveBack` returns a job leased for a consumer that went away before it
   * could be delivered (a long poll answered by its first job, a stream that
   * ended): left leased, it would wait for the reaper, a whole lease later.
   */
  constructor(
    private readonly sql: Sql,
    private readonly defaultVisibilityMs: number,
    private readonly onError: (e: unknown) => void,
    private readonly limited: LimitedQueues,
    private readonly giveBack: (job: PgJob) => void,
  ) {}

  add(c: Omit<PgConsumer, "closed">): PgConsumer {
    const consumer: PgConsumer = { ...c, closed: false };
    this.consumers.add(consumer);
    this.wake();
    return consumer;
  }

  remove(c: PgConsumer): void {
    c.closed = true;
    this.consumers.delete(c);
  }

  /** More credit for a consumer (a job of it was settled). */
  grant(c: PgConsumer, n: number): void {
    c.credit += n;
    this.wake();
  }

  get size(): number {
    return this.consumers.size;
  }

  /**
   * Something may be ready: pump at the end of this turn, or once more after
   * the running pump. The turn's end, not at once: credits given back by the
   * settlements of one frame arrive in one turn and go into one claim.
   */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    onMicrotask(() => void this.pump());
  }

  /**
   * A consumer waiting for work whose first queue is `queue`, with one of its
   * credits taken for a job the enqueue hands to it (handoff.ts); undefined
   * when there is none. Not while a claim statement is out (it may be filling
   * that credit already): if a consumer could take the job, the reservation
   * is made once that statement answered and its jobs were delivered, before
   * the next claim counts its slots from the credit left. An enqueue that
   * comes while the claim started by the previous ack still runs is then
   * handed off after that one statement, instead of going through NOTIFY and
   * a claim of its own.
   */
  reserveSoon(queue: string, tenant: string | undefined): PgConsumer | undefined | Promise<PgConsumer | undefined> {
    if (this.closed) return undefined;
    if (!this.claiming) return this.pick(queue, tenant, true);
    if (this.waiting.length >= MAX_WAITING || !this.pick(queue, tenant, false)) return undefined;
    return new Promise((resolve) => this.waiting.push(() => resolve(this.closed ? undefined : this.pick(queue, tenant, true))));
  }

  /**
   * A consumer that can take a job of `queue` and `tenant` (the job's; undefined: it has none) now;
   * `take` takes one of its credits. A consumer of a tenant takes only that tenant's jobs.
   */
  private pick(queue: string, tenant: string | undefined, take: boolean): PgConsumer | undefined {
    for (const c of this.consumers) {
      if (c.credit > 0 && !c.closed && c.queues[0] === queue && (c.tenant === undefined || c.tenant === tenant) && !c.held?.()) {
        if (take) c.credit--;
        return c;
      }
    }
    return undefined;
  }

  /** A reserved credit that was not used comes back. */
  unreserve(c: PgConsumer): void {
    c.credit++;
    this.wake();
  }

  /** Delivers a job handed to a reserved consumer; one that went away meanwhile has it given back. */
  handTo(c: PgConsumer, job: PgJob): void {
    if (c.closed) return this.giveBack(job);
    try {
      c.deliver(job);
    } catch (e) {
      this.onError(e);
    }
  }

  /**
   * A NOTIFY named these queues (comma-separated, as the writers send them):
   * pump only when a consumer here reads one of them, so a server whose
   * consumers read other queues does not run a claim for every enqueue
   * anywhere. A queue name with a comma in it cannot be told apart in the
   * list, so such a consumer is woken by every notification.
   */
  wakeFor(payload: string): void {
    const named = new Set(payload.split(","));
    for (const c of this.consumers) {
      if (c.queues.some((q) => named.has(q) || q.includes(","))) return this.wake();
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.consumers) c.closed = true;
    this.consumers.clear();
    this.claimAnswered();
  }

  /** The claim statement that was out has answered (and its jobs are delivered): the enqueues waiting for it reserve now, in order. */
  private claimAnswered(): void {
    this.claiming = false;
    const waiting = this.waiting;
    if (waiting.length === 0) return;
    this.waiting = [];
    for (const w of waiting) w();
  }

  /**
   * Clears `running` itself, in the same turn as its last check of `again`: a
   * wake-up that came between that check and a later callback would be lost.
   */
  private async pump(): Promise<void> {
    try {
      await this.pumpLoop();
    } finally {
      this.running = false;
    }
  }

  /** Runs while wake-ups arrive; clears `running` in the turn of its last check (see pump). */
  private async pumpLoop(): Promise<void> {
    do {
      this.again = false;
      const groups = new Map<string, PgConsumer[]>();
      for (const c of this.consumers) {
        if (c.credit <= 0 || c.closed || c.held?.()) continue;
        // The queues in their order (the claim's order of preference), and the tenant: one claim serves one group.
        const key = `${c.tenant ?? ""}\u0001${c.queues.join("\u0000")}`;
        const g = groups.get(key);
        if (g) g.push(c);
        else groups.set(key, [c]);
      }
      for (const group of groups.values()) {
        if (this.closed) return;
        // Round-robin slots over the group's consumers, each up to its credit.
        const slots: PgConsumer[] = [];
        const left = group.map((c) => c.credit);
        for (let added = true; added && slots.length < MAX_BATCH;) {
          added = false;
          for (let i = 0; i < group.length && slots.length < MAX_BATCH; i++) {
            if (left[i]! > 0) {
              left[i]!--;
              slots.push(group[i]!);
              added = true;
            }
          }
        }
        let claimed;
        this.claiming = true;
        try {
          claimed = await claim(
            this.sql,
            {
              queues: group[0]!.queues,
              ...tenantOf(group[0]!.tenant),
              slots: slots.map((c) => ({ workerId: c.workerId, visibilityTimeoutMs: c.visibilityTimeoutMs ?? this.defaultVisibilityMs })),
            },
            this.limited,
          );
        } catch (e) {
          if (!this.closed) this.onError(e);
          // The next wake-up (at the latest the maintenance pass) tries again.
          this.running = false;
          this.claimAnswered();
          return;
        }
        this.claims++;
        for (const { slot, job } of claimed) {
          const c = slots[slot]!;
          // A consumer that went away while the claim ran: its job is given back, not left to the reaper.
          if (c.closed) {
            this.giveBack(job);
            continue;
          }
          c.credit--;
          try {
            c.deliver(job);
          } catch (e) {
            this.onError(e);
          }
        }
        this.claimAnswered();
        // A full batch means more may be waiting.
        if (claimed.length === slots.length && claimed.length > 0) this.again = true;
      }
    } while (this.again && !this.closed);
    this.running = false;
  }
}
