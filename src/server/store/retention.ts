/**
 * Retention per queue (BullMQ's removeOnComplete / removeOnFail; the admin
 * API's queue `retention`, ojs-admin-api §6.2/§6.6): how many finished jobs a
 * queue keeps and for how long, completed and failed apart. "discarded" covers
 * discarded and cancelled jobs; dead-lettered ones are the dead-letter queue's
 * (maxDeadLetter, purges) and are never removed here.
 *
 * Each queue with a rule keeps its finished jobs in finish order, one list per
 * kind, so that both rules remove from the front, from a timer: at once
 * after a job finishes past a count, when the oldest job ages out for an age. Every pass removes at most BUDGET jobs
 * and, when there is more, runs again on the next timer: lowering a limit on a
 * queue of a million jobs never blocks the server. The timer never keeps the
 * process alive and stops on close().
 */
import type { JobState } from "../../model/job.js";
import { isJsonObject, type JsonObject } from "../../model/json.js";
import { KEEP_FOR_META } from "../../model/retention.js";
import { MinHeap } from "./heap.js";
import { Deque } from "./deque.js";
import type { Clock, TimerHandle } from "./clock.js";

import type { NormalRule } from "../../codec/retention.js";

/** One kind's limits: keep at most `count` jobs, none older than `ageMs` (from its finish). */
export type RetentionRule = NormalRule;

/** A queue's retention as the store keeps it: completed jobs, and failed ones (discarded or cancelled), apart. */
export interface QueueRetention {
  completed?: RetentionRule;
  discarded?: RetentionRule;
}

export type RetentionKind = keyof QueueRetention;

/** At most this many jobs removed per pass; the rest on the next one. */
const BUDGET = 1000;
/** How soon a pass that ran out of budget runs again. */
const AGAIN_MS = 10;
/** The age timer's longest sleep: rules can change, and a clock can jump. */
const MAX_SLEEP_MS = 60_000;

interface Entry {
  id: string;
  seq: number;
  at: number;
}

/** The finished jobs of one queue, in finishing order. */
type FinishList = Deque<Entry>;

export interface RetentionDeps {
  clock: Clock;
  /**
   * Removes the job if it is still the finished job `seq` says it is (a job
   * retried or deleted since is not); returns whether the entry was live.
   */
  remove(id: string, seq: number): boolean;
  /** Whether the job is still the finished job `seq` says it is. */
  live(id: string, seq: number): boolean;
  /**
   * The most finished jobs the store keeps at all (maxFinishedJobs): a list or
   * the heap past it holds entries of jobs the store has already forgotten,
   * which are dropped, so that memory stays bounded whatever the rules say.
   */
  maxEntries: number;
  /** The queue's finished jobs now (not dead-lettered), in any order: a new rule counts them too. */
  finishedOf(queue: string): Iterable<{ id: string; seq: number; state: JobState; at: number }>;
}

export function retentionKind(state: JobState): RetentionKind | undefined {
  return state === "completed" ? "completed" : state === "discarded" || state === "cancelled" ? "discarded" : undefined;
}

/** A job's own `keepFor` for the state it finished in, in ms (from its meta), undefined when it has none. */
export function keepForOf(meta: JsonObject, state: JobState): number | undefined {
  const k = meta[KEEP_FOR_META];
  const kind = retentionKind(state);
  if (!kind || !isJsonObject(k)) return undefined;
  const ms = k[`${kind}_ms`];
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export class Retention {
  private readonly rules = new Map<string, QueueRetention>();
  /** Jobs with their own keepFor, by when they go (bounded by the finished jobs the store keeps). */
  private readonly due = new MinHeap<Entry>();
  private readonly lists = new Map<string, FinishList>();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Jobs removed by retention since start, for tests and metrics. */
  removed = 0;

  constructor(private readonly deps: RetentionDeps) {}

  /** Sets (or with undefined, clears) a queue's retention; a lowered limit applies at once, in bounded passes. */
  set(queue: string, r: QueueRetention | undefined): void {
    if (!r || (!r.completed && !r.discarded)) {
      this.rules.delete(queue);
      for (const k of ["completed", "discarded"] as const) this.lists.delete(`${queue}\u0000${k}`);
      return;
    }
    this.rules.set(queue, r);
    // One scan of the queue's jobs when a rule is set (bounded by what the store retains at all),
    // so that a rule counts the jobs that finished before it, oldest first.
    const seeded: Record<RetentionKind, Entry[]> = { completed: [], discarded: [] };
    for (const j of this.deps.finishedOf(queue)) {
      const kind = retentionKind(j.state);
      if (kind && r[kind]) seeded[kind].push({ id: j.id, seq: j.seq, at: j.at });
    }
    for (const k of ["completed", "discarded"] as const) {
      const key = `${queue}\u0000${k}`;
      if (!r[k]) {
        this.lists.delete(key);
        continue;
      }
      const list = new Deque<Entry>();
      for (const e of seeded[k].sort((a, b) => a.at - b.at)) list.push(e);
      this.lists.set(key, list);
    }
    this.arm(0);
  }

  get(queue: string): QueueRetention | undefined {
    return this.rules.get(queue);
  }

  /** A job of `queue` finished (or was restored finished) at `at`; `keepForMs` is its own rule, if any. */
  finished(queue: string, state: JobState, id: string, seq: number, at: number, keepForMs?: number): void {
    if (keepForMs !== undefined) {
      if (this.due.size >= this.deps.maxEntries * 2) this.due.retain((e) => this.deps.live(e.id, e.seq));
      this.due.push(at + keepForMs, { id, seq, at });
      this.arm(Math.max(0, at + keepForMs - this.deps.clock.now()));
    }
    const r = this.rules.get(queue);
    const kind = retentionKind(state);
    if (!r || !kind || !r[kind]) return;
    const key = `${queue}\u0000${kind}`;
    let list = this.lists.get(key);
    if (!list) this.lists.set(key, (list = new Deque<Entry>()));
    list.push({ id, seq, at });
    // Past what the store keeps at all, the oldest entries are of jobs its own bound already removed.
    while (list.length > this.deps.maxEntries) list.shift();
    const rule = r[kind]!;
    // Never inside the store's operation that finished the job (its caller still holds the record):
    // on the next timer turn, in bounded passes.
    if (rule.count !== undefined && list.length > rule.count) this.arm(0);
    else if (rule.ageMs !== undefined) this.arm(Math.max(0, at + rule.ageMs - this.deps.clock.now()));
  }

  /** Removes from the front while over the count or past the age; returns the budget left. */
  private trim(list: FinishList, rule: RetentionRule, now: number, budget: number): number {
    while (budget > 0) {
      const e = list.peek();
      if (!e) break;
      const overCount = rule.count !== undefined && list.length > rule.count;
      const tooOld = rule.ageMs !== undefined && e.at + rule.ageMs <= now;
      if (!overCount && !tooOld) break;
      list.shift();
      if (this.deps.remove(e.id, e.seq)) this.removed++;
      budget--;
    }
    return budget;
  }

  /** One bounded pass over every list; re-arms for what is left or for the next job to age out. */
  private pass(): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    let budget = BUDGET;
    let next = Infinity;
    while (budget > 0 && this.due.size > 0 && this.due.peekKey()! <= now) {
      const e = this.due.pop()!;
      if (this.deps.remove(e.id, e.seq)) this.removed++;
      budget--;
    }
    if (budget === 0) next = AGAIN_MS;
    else if (this.due.size > 0) next = Math.max(0, this.due.peekKey()! - now);
    for (const [key, list] of this.lists) {
      if (budget === 0) break;
      const [queue, kind] = key.split("\u0000") as [string, RetentionKind];
      const rule = this.rules.get(queue)?.[kind];
      if (!rule) {
        this.lists.delete(key);
        continue;
      }
      budget = this.trim(list, rule, now, budget);
      if (budget === 0) {
        next = AGAIN_MS;
        break;
      }
      const head = list.peek();
      if (head && rule.ageMs !== undefined) next = Math.min(next, head.at + rule.ageMs - now);
    }
    if (next !== Infinity) this.arm(Math.max(0, next));
  }

  private arm(inMs: number): void {
    if (this.closed) return;
    const ms = Math.min(inMs, MAX_SLEEP_MS);
    const at = this.deps.clock.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.deps.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pass();
    }, ms);
  }

  /** Every queue with a rule, for the journal. */
  queues(): string[] {
    return [...this.rules.keys()];
  }

  clear(): void {
    this.rules.clear();
    this.lists.clear();
    this.due.clear();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
