/**
 * Read-only views of the admin API: queues with their counts and throughput,
 * workers, aggregate statistics and their history. Built from the store's own
 * counters (no job scans), so a dashboard polling every few seconds costs little.
 */
import { retentionModelFromJson, retentionToJson } from "../../codec/retention.js";
import { HISTORY_PERIODS } from "../../codec/admin-api.js";
import type {
  AdminPage,
  AdminQueue,
  AdminQueueDetail,
  AdminStats,
  AdminWorker,
  HistoryOptions,
  PageOptions,
  StatsHistory,
  Throughput,
  WorkerList,
} from "../../model/admin.js";
import { ValidationError } from "../../model/errors.js";
import type { MinuteCounts } from "../store/queue.js";
import type { Clock } from "../store/clock.js";
import type { JobStore } from "../store/job-store.js";
import type { QueueSummary, WorkerInfo } from "../store/records.js";

export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 100;
/** Throughput is the mean over this many minutes (the current one included). */
const THROUGHPUT_MINUTES = 5;
const HOUR_MS = 3_600_000;

/** A page of an in-memory list; `page` past the end gives an empty page with the total. */
export function paginate<T>(all: readonly T[], opts: PageOptions): AdminPage<T> {
  const { page, perPage } = pageOf(opts);
  return { items: all.slice((page - 1) * perPage, page * perPage), total: all.length, page, perPage };
}

export function pageOf(opts: PageOptions): { page: number; perPage: number } {
  const page = opts.page ?? 1;
  const perPage = opts.perPage ?? DEFAULT_PER_PAGE;
  if (!Number.isInteger(page) || page < 1)
    throw new ValidationError("page: must be an integer from 1", { issues: [{ path: "page", message: "must be an integer from 1" }] });
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE)
    throw new ValidationError(`per_page: must be an integer from 1 to ${MAX_PER_PAGE}`, {
      issues: [{ path: "per_page", message: `must be an integer from 1 to ${MAX_PER_PAGE}` }],
    });
  return { page, perPage };
}

function throughputOf(minutes: readonly MinuteCounts[], now: number): Throughput {
  const from = (Math.floor(now / 60_000) - THROUGHPUT_MINUTES + 1) * 60_000;
  let processed = 0;
  let failed = 0;
  for (const m of minutes) {
    if (m.minute < from) continue;
    processed += m.completed;
    failed += m.failed;
  }
  return { processedPerMinute: processed / THROUGHPUT_MINUTES, failedPerMinute: failed / THROUGHPUT_MINUTES };
}

export class AdminViews {
  constructor(
    private readonly store: JobStore,
    private readonly startedAt: number,
    private readonly clock: Clock,
    /** A worker unheard of for longer than this is stale. */
    private readonly staleAfterMs: number,
  ) {}

  private async queueOf(s: QueueSummary): Promise<AdminQueue> {
    return {
      name: s.name,
      state: s.paused ? "paused" : "active",
      paused: s.paused,
      counts: { ...s.counts },
      deadLetter: s.dead,
      throughput: throughputOf(await this.store.queueHistory(s.name), this.clock.now()),
      createdAt: s.createdAt,
    };
  }

  async listQueues(opts: PageOptions): Promise<AdminPage<AdminQueue>> {
    const all = await this.store.listQueues();
    const page = paginate(all, opts);
    return { ...page, items: await Promise.all(page.items.map((s) => this.queueOf(s))) };
  }

  async queue(name: string): Promise<AdminQueueDetail> {
    const s = await this.store.queueSummary(name);
    const d: AdminQueueDetail = {
      ...(await this.queueOf(s)),
      depth: s.depth,
      configuration: {},
      lastHour: { completed: s.lastHour.completed, failed: s.lastHour.failed, avgDurationMs: s.lastHour.avgDurationMs, avgWaitMs: s.lastHour.avgWaitMs },
    };
    if (s.rateLimitPerSecond) d.configuration.rateLimitPerSecond = s.rateLimitPerSecond;
    if (s.backpressure) d.configuration.maxDepth = s.backpressure.maxDepth;
    const ret = s.retention;
    if (ret) d.configuration.retention = retentionModelFromJson(retentionToJson(ret))!;
    if (s.counts.available > 0) {
      let oldest: number | undefined;
      for (const r of await this.store.jobRecords()) {
        if (r.job.queue !== name || r.job.state !== "available") continue;
        const t = (r.job.enqueuedAt ?? r.job.createdAt)?.getTime();
        if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
      }
      if (oldest !== undefined) d.oldestAvailableAt = new Date(oldest);
    }
    return d;
  }

  private workerOf(w: WorkerInfo, now: number): AdminWorker {
    return {
      id: w.id,
      state: w.state,
      directive: w.directive,
      activeJobs: w.activeJobIds.length,
      activeJobIds: [...w.activeJobIds],
      startedAt: new Date(w.firstSeen),
      lastHeartbeatAt: new Date(w.lastSeen),
      stale: now - w.lastSeen > this.staleAfterMs,
    };
  }

  async listWorkers(opts: PageOptions): Promise<WorkerList> {
    const now = this.clock.now();
    const all = (await this.store.listWorkers()).map((w) => this.workerOf(w, now));
    const summary: WorkerList["summary"] = { total: all.length, stale: 0 };
    for (const w of all) {
      summary[w.state] = (summary[w.state] ?? 0) + 1;
      if (w.stale) summary.stale++;
    }
    return { ...paginate(all, opts), summary };
  }

  async worker(id: string): Promise<AdminWorker> {
    return this.workerOf(await this.store.getWorker(id), this.clock.now());
  }

  async stats(): Promise<AdminStats> {
    const now = this.clock.now();
    const queues = await this.store.listQueues();
    const minutes = (await Promise.all(queues.map((q) => this.store.queueHistory(q.name)))).flat();
    return {
      queues: queues.length,
      workers: (await this.store.listWorkers()).length,
      jobs: await this.store.countByState(),
      deadLetter: await this.store.deadLetterCount(),
      throughput: throughputOf(minutes, now),
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }

  /** Completions and failures per period; the server keeps one hour at one-minute resolution. */
  async history(opts: HistoryOptions): Promise<StatsHistory> {
    const period = opts.period ?? "5m";
    const step = HISTORY_PERIODS[period];
    const now = this.clock.now();
    const until = Math.min(opts.until?.getTime() ?? now, now);
    const since = Math.max(opts.since?.getTime() ?? now - HOUR_MS, now - HOUR_MS);
    if (since > until) throw new ValidationError("since: must be before until", { issues: [{ path: "since", message: "must be before until" }] });
    const names = opts.queue !== undefined ? [opts.queue] : (await this.store.listQueues()).map((q) => q.name);
    const first = Math.floor(since / step) * step;
    const buckets = new Map<number, { processed: number; failed: number }>();
    for (let t = first; t <= until; t += step) buckets.set(t, { processed: 0, failed: 0 });
    for (const name of names) {
      for (const m of await this.store.queueHistory(name)) {
        if (m.minute < first || m.minute > until) continue;
        const b = buckets.get(Math.floor(m.minute / step) * step);
        if (!b) continue;
        b.processed += m.completed;
        b.failed += m.failed;
      }
    }
    return { period, points: [...buckets].map(([t, b]) => ({ timestamp: new Date(t), ...b })) };
  }
}
