/**
 * The JobStore seam (../job-store.ts) over PostgreSQL: what the HTTP and gRPC
 * adapters call when the server runs with `store: "postgres://..."`. The work
 * is PgJobStore's; this layer turns its answers into JobRecords, keeps the
 * per-server parts (stream consumers and the credit their settled jobs give
 * back, the worker registry). Workflows are the store's own (workflows.ts).
 */
import { ConflictError, NotFoundError } from "../../../model/errors.js";
import type { EventFilter, OjsEvent } from "../../../model/events.js";
import type { JobError, JobState, NormalizedJobRequest } from "../../../model/job.js";
import type { JsonValue } from "../../../model/json.js";
import type { WorkerDirective } from "../../../model/system.js";
import type { BatchEntry, ConsumerSpec, JobStore, JobStoreFactory, ProgressUpdate, QueueSettings } from "../job-store.js";
import { zeroCounts, type Backpressure, type MinuteCounts, type StateCounts } from "../queue.js";
import type {
  Consumer,
  FetchRequest,
  HeartbeatOutcome,
  HeartbeatRequest,
  JobRecord,
  NackOptions,
  Progress,
  QueueConfig,
  QueueSummary,
  SubmitOptions,
  SubmitResult,
  WorkerInfo,
} from "../store.js";
import { mapRejections, toOjsError } from "./errors.js";
import { deadLetterCount, deleteJob, listDeadLetter, retryDiscarded } from "./dead-letter.js";
import type { PgConsumer } from "./dispatcher.js";
import { PgJobStore, type PgStoreOptions } from "./pg-store.js";
import { reportProgress } from "./progress.js";
import { backpressureOf, queueDepth, setBackpressure } from "./depth.js";
import { queueSummary } from "./queues.js";
import { toRecord } from "./records.js";
import { CronMirror } from "./cron-mirror.js";
import type { CronScheduler } from "../cron.js";
import type { SchemaRegistry } from "../schemas.js";
import { SchemaMirror } from "./schema-mirror.js";
import { fromRow, type JobRow } from "./rows.js";
import { LocalWorkers } from "./workers.js";
import { saidTerminate } from "../policies.js";
import { EventFeed, newestEventSeq, recentEvents, type EventSink } from "./events.js";
import { PgRateLimitState } from "./rate-limit-state.js";
import { PgCheckpoints } from "./checkpoints.js";
import { pgTenantAdmin, tenantOf } from "./tenants.js";
import { FinishedStats } from "./throughput.js";
import { releaseUnstarted, type Unstarted } from "./lease-release.js";
import type { WorkflowService } from "../workflow-service.js";
import type { TenantAdmin } from "../../tenancy/admin.js";

interface Delivered {
  consumer: Consumer;
  deadline: number;
  /** Its worker said so: a start call, or a heartbeat that listed it (closeConsumer leaves it alone). */
  started: boolean;
}

export class PostgresJobStore implements JobStore {
  readonly kind = "postgres";
  /** Workflows live in the database (workflows.ts), not in the in-process engine. */
  get workflows(): WorkflowService {
    return this.pg.workflows;
  }
  /** Per-job rate limits as the extension's routes inspect them, from the database (rate-limit-state.ts). */
  readonly rateLimits: PgRateLimitState;
  readonly checkpoints: PgCheckpoints; // in ojs_checkpoints (checkpoints.ts)
  readonly tenants: TenantAdmin; // counts and limits from the database (tenants.ts)
  private readonly finished: FinishedStats; // throughput from the jobs' finish times (throughput.ts)
  private expiring: Promise<void> = Promise.resolve();
  private readonly workers = new LocalWorkers();
  private readonly pgConsumers = new WeakMap<Consumer, PgConsumer>();
  private readonly streamOf = new Map<string, Consumer>();
  /** Jobs this server pushed and not yet settled through it: settling gives the stream its credit back. */
  private readonly delivered = new Map<string, Delivered>();
  private readonly sweep: NodeJS.Timeout;
  private cronMirror: CronMirror | undefined;
  private schemaMirror: SchemaMirror | undefined;
  private refreshing = false;
  private eventFeed: EventFeed | undefined;

  private constructor(
    readonly pg: PgJobStore,
    private readonly conformanceHooks: boolean,
    private readonly onError: ((e: unknown) => void) | undefined,
    private readonly eventPollMs: number,
    private readonly eventsFrom: bigint,
  ) {
    this.checkpoints = new PgCheckpoints(pg.sql);
    this.tenants = pgTenantAdmin(pg.sql);
    this.finished = new FinishedStats(pg.sql);
    this.rateLimits = new PgRateLimitState(pg.sql, async (queues) => {
      if (queues.length) await pg.sql`SELECT pg_notify('ojs_jobs', ${queues.join(",")})`;
      pg.wake();
    });
    // Pushed jobs whose lease ran out unsettled: their stream is closed, and those never started go back free,
    // before the reaper would charge them an attempt (lease-release.ts); the reaper runs the same first.
    pg.beforeReap = () => this.expireDeliveries().then(() => [...this.delivered].filter(([, d]) => !d.started).map(([id]) => id));
    this.sweep = setInterval(() => {
      this.expireDeliveries().catch((e: unknown) => (this.onError ?? console.error)(e));
      this.refreshCron();
    }, 500);
    this.sweep.unref();
  }

  /** `eventPollMs`: how often the events of all servers are read for this server's listeners (SSE, StreamEvents, webhooks). Default 100 ms. */
  static async open(url: string, options: PgStoreOptions & { conformanceHooks?: boolean; eventPollMs?: number } = {}): Promise<PostgresJobStore> {
    const { conformanceHooks, eventPollMs, ...pgOptions } = options;
    const pg = await PgJobStore.open(url, pgOptions);
    // Read now, before the server serves anyone, so that its live events start here (EventFeed).
    const eventsFrom = await newestEventSeq(pg.sql).catch(async (e: unknown) => {
      await pg.close();
      throw e;
    });
    return new PostgresJobStore(pg, conformanceHooks ?? false, pgOptions.onError, eventPollMs ?? 100, eventsFrom);
  }

  // ---- reads ----

  async get(id: string): Promise<JobRecord> {
    // As the memory store's record: a job this server pushed has started once its worker said so; one never claimed has not.
    const rec = toRecord(await this.pg.get(id));
    const d = this.delivered.get(id);
    rec.started = d && rec.job.state === "active" ? d.started : rec.job.attempt > 0;
    return rec;
  }

  async has(id: string): Promise<boolean> {
    try {
      await this.pg.get(id);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw toOjsError(e);
    }
  }

  async jobRecords(): Promise<Iterable<JobRecord>> {
    // Bounded: the admin listing pages what it gets; a database of millions is not read whole.
    // The newest 10 000, handed over oldest first: the listing counts on creation order (ids are time-ordered).
    const rows = await this.pg.sql<JobRow[]>`SELECT * FROM ojs_jobs ORDER BY created_at DESC, id DESC LIMIT 10000`;
    return rows.reverse().map((r) => toRecord(fromRow(r)));
  }

  async listQueues(): Promise<QueueSummary[]> {
    const names = await this.pg.sql<{ name: string }[]>`SELECT name FROM ojs_queues ORDER BY name`;
    return Promise.all(names.map((n) => this.queueSummary(n.name)));
  }

  queueSummary(name: string): Promise<QueueSummary> {
    return queueSummary(this.pg.sql, name, (n) => this.finished.lastHour(n));
  }

  queueHistory(name: string): Promise<MinuteCounts[]> {
    return this.finished.minutes(name);
  }

  async pressure(name: string): Promise<{ depth: number; backpressure: Backpressure } | undefined> {
    const backpressure = await backpressureOf(this.pg.sql, name);
    return backpressure ? { depth: await queueDepth(this.pg.sql, name), backpressure } : undefined;
  }

  async queueSettings(name: string): Promise<QueueSettings | undefined> {
    const [q] = await this.pg.sql<{ paused: boolean; rate_per_sec: number | null }[]>`SELECT paused, rate_per_sec FROM ojs_queues WHERE name = ${name}`;
    return q ? { paused: q.paused, rateLimitPerSecond: q.rate_per_sec ?? undefined, backpressure: await backpressureOf(this.pg.sql, name) } : undefined;
  }

  async countByState(queue?: string): Promise<StateCounts> {
    const q = queue ?? null;
    const rows = await this.pg.sql<{ state: JobState; n: number }[]>`
      SELECT state, count(*)::int AS n FROM ojs_jobs WHERE ${q}::text IS NULL OR queue = ${q} GROUP BY state`;
    const out = zeroCounts();
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  async listDeadLetter(opts: { queue?: string; offset?: number; limit?: number } = {}): Promise<{ jobs: JobRecord[]; total: number }> {
    const r = await listDeadLetter(this.pg.sql, opts);
    return { jobs: r.jobs.map(toRecord), total: r.total };
  }

  deadLetterCount(queue?: string): Promise<number> {
    return deadLetterCount(this.pg.sql, queue);
  }

  async getWorker(workerId: string): Promise<WorkerInfo> {
    return this.workers.get(workerId);
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    return this.workers.list();
  }

  /** Events of every server on the database (events.ts). */
  recentEvents(filter: EventFilter, limit: number): Promise<OjsEvent[]> {
    return recentEvents(this.pg.sql, filter, limit);
  }

  // ---- mutations ----

  async submit(req: NormalizedJobRequest, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const out = await this.pg.submit(req, opts.extra);
    return { rec: toRecord(out.job), deduplicated: out.deduplicated };
  }

  async enqueueBatch(entries: readonly BatchEntry[]): Promise<JobRecord[]> {
    return (await this.pg.enqueueBatch(entries)).map(toRecord);
  }

  async fetch(req: FetchRequest): Promise<JobRecord[]> {
    if (req.workerId) this.workers.seen(req.workerId);
    if (!this.workers.mayFetch(req.workerId)) return [];
    const got = (await this.pg.fetch(req)).map(toRecord);
    if (this.conformanceHooks && req.workerId) this.workers.applyTestDirectives(got, req.workerId);
    return got;
  }

  async openConsumer(spec: ConsumerSpec): Promise<Consumer> {
    this.workers.seen(spec.workerId);
    const previous = this.streamOf.get(spec.workerId);
    const consumer: Consumer = {
      queues: spec.queues,
      workerId: spec.workerId,
      credit: spec.maxConcurrent,
      visibilityTimeoutMs: spec.visibilityTimeoutMs,
      deliver: spec.deliver,
      onStale: spec.onStale,
      closed: false,
      ...tenantOf(spec.tenant),
    };
    this.streamOf.set(spec.workerId, consumer);
    if (previous && !previous.closed) {
      await this.closeConsumer(previous);
      previous.onStale?.("superseded");
    }
    const pgc = this.pg.openConsumer({
      queues: spec.queues,
      workerId: spec.workerId,
      credit: spec.maxConcurrent,
      visibilityTimeoutMs: spec.visibilityTimeoutMs,
      deliver: (job) => {
        this.delivered.set(job.job.id, { consumer, deadline: job.leaseDeadline, started: false });
        spec.deliver(toRecord(job));
      },
      held: () => !this.workers.mayFetch(spec.workerId),
      ...tenantOf(spec.tenant),
    });
    this.pgConsumers.set(consumer, pgc);
    return consumer;
  }

  /** Ends a stream consumer; with `releaseUnstarted`, when its worker said it is terminating, the jobs pushed to it that it did
   *  not start go back now, guarded by that worker (see JobStore.closeConsumer). */
  async closeConsumer(consumer: Consumer, opts: { releaseUnstarted?: boolean } = {}): Promise<number> {
    if (consumer.closed) return 0;
    consumer.closed = true;
    const pgc = this.pgConsumers.get(consumer);
    if (pgc) this.pg.closeConsumer(pgc);
    if (this.streamOf.get(consumer.workerId) === consumer) this.streamOf.delete(consumer.workerId);
    if (!opts.releaseUnstarted || !saidTerminate(this.workers.find(consumer.workerId))) return 0;
    const unstarted: string[] = [];
    for (const [id, d] of this.delivered) {
      if (d.consumer !== consumer || d.started) continue;
      this.delivered.delete(id);
      unstarted.push(id);
    }
    const error = { code: "released", message: "its worker stopped before the job reached it" };
    const released = await Promise.all(
      unstarted.map((id) =>
        this.pg.nack(id, error, consumer.workerId, { requeue: true }).then(
          () => 1,
          // Settled or taken back meanwhile (the worker's own requeue, the reaper): nothing to do.
          (e: unknown) => {
            if (!(e instanceof ConflictError) && !(e instanceof NotFoundError)) (this.onError ?? console.error)(e);
            return 0;
          },
        ),
      ),
    );
    return released.reduce<number>((a, b) => a + b, 0);
  }

  async release(rec: JobRecord): Promise<void> {
    this.settled(rec.id);
    await this.pg.nack(rec.id, { code: "released", message: "released" }, undefined, { requeue: true }).catch(() => undefined);
  }

  async ack(id: string, result: JsonValue | undefined, workerId?: string): Promise<JobRecord> {
    this.doneWith(id, workerId);
    const job = await this.pg.ack(id, result, workerId);
    this.settled(id);
    return toRecord(job);
  }

  async nack(id: string, error: JobError, workerId?: string, opts: NackOptions = {}): Promise<JobRecord> {
    this.doneWith(id, workerId);
    const job = await this.pg.nack(id, error, workerId, { requeue: opts.requeue, response: opts.response });
    this.settled(id);
    return toRecord(job);
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = await this.pg.cancel(id);
    this.settled(id);
    return toRecord(job);
  }

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatOutcome> {
    this.workers.seen(req.workerId, req.state, req.jobIds);
    const r = await this.pg.heartbeat(req.workerId, req.jobIds, req.visibilityTimeoutMs);
    const deadline = Date.now() + (req.visibilityTimeoutMs ?? 30_000);
    for (const id of r.extended) {
      const d = this.delivered.get(id);
      if (!d) continue;
      d.deadline = deadline;
      // The worker holds it, whether it runs or waits for a slot: it hands back itself what it does not start.
      if (d.consumer.workerId === req.workerId) d.started = true;
    }
    return { directive: this.workers.directive(req.workerId), extended: r.extended, lost: r.lost, deadline };
  }

  /** A worker says it started pushed jobs (every pushed job, on the fast path). A job this server pushed to that worker, unsettled
   *  and within its lease, is held by it without asking the database: that saves a statement per job. The others are looked up. */
  async markStarted(jobIds: readonly string[], workerId: string): Promise<string[]> {
    this.workers.seen(workerId).reportsStarts = true;
    const now = Date.now();
    const ask = jobIds.filter((id) => {
      const d = this.delivered.get(id);
      if (d && d.consumer.workerId === workerId) d.started = true;
      return !(d && d.consumer.workerId === workerId && d.deadline > now);
    });
    if (ask.length === 0) return [];
    const held = await this.pg.sql<{ id: string }[]>`SELECT id FROM ojs_jobs WHERE id = ANY(${ask}::uuid[]) AND state = 'active' AND worker_id = ${workerId}`;
    const ok = new Set(held.map((h) => h.id));
    return ask.filter((id) => !ok.has(id));
  }

  reportProgress(id: string, update: ProgressUpdate): Promise<Progress> {
    return reportProgress(this.pg.sql, id, update);
  }

  async pauseQueue(name: string): Promise<QueueSummary> {
    await this.pg.pauseQueue(name);
    return this.queueSummary(name);
  }

  async resumeQueue(name: string): Promise<QueueSummary> {
    await this.pg.resumeQueue(name);
    return this.queueSummary(name);
  }

  async configureQueue(name: string, cfg: QueueConfig): Promise<QueueSummary> {
    if (cfg.rateLimitPerSecond !== undefined) await this.pg.setQueueRate(name, cfg.rateLimitPerSecond);
    if (cfg.backpressure !== undefined) await setBackpressure(this.pg.sql, name, cfg.backpressure);
    // In ojs_queue_retention, applied by whichever server's maintenance pass runs (retention.ts).
    if (cfg.retention !== undefined) await this.pg.retention.set(name, cfg.retention ?? undefined);
    if (cfg.paused === true) return this.pauseQueue(name);
    if (cfg.paused === false) return this.resumeQueue(name);
    return this.queueSummary(name);
  }

  async retryDeadLetter(id: string): Promise<JobRecord> {
    return toRecord(await retryDiscarded(this.pg.sql, id, true));
  }

  deleteDeadLetter(id: string): Promise<void> {
    return deleteJob(this.pg.sql, id, true);
  }

  async retryDiscarded(id: string): Promise<JobRecord> {
    return toRecord(await retryDiscarded(this.pg.sql, id, false));
  }

  deleteFinished(id: string): Promise<void> {
    return deleteJob(this.pg.sql, id, false);
  }

  async directWorker(workerId: string, directive: WorkerDirective): Promise<WorkerInfo> {
    const w = this.workers.direct(workerId, directive);
    if (directive === "running") this.pg.wake();
    return w;
  }

  async removeWorker(workerId: string): Promise<void> {
    this.workers.remove(workerId);
  }

  /** Every answered mutation of the seam is a committed transaction; what is left to wait for are the cron changes made through
   *  the in-process scheduler (cron-mirror.ts). */
  durable(): Promise<void> | undefined {
    const c = this.cronMirror?.durable();
    const s = this.schemaMirror?.durable();
    return c && s ? Promise.all([c, s]).then(() => undefined) : (c ?? s);
  }

  /** Keeps the server's cron scheduler and schema registry (the API's view) in ojs_cron and ojs_schemas; cron is fired by the database. */
  attachRegistries(cron: CronScheduler, schemas: SchemaRegistry): void {
    this.cronMirror = new CronMirror(this.pg.sql, cron);
    this.schemaMirror = new SchemaMirror(this.pg.sql, schemas);
  }

  /** The server's event bus gets the events of every server (events.ts EventFeed) while it has listeners. */
  attachEvents(bus: EventSink): EventFeed {
    this.eventFeed?.close();
    this.eventFeed = new EventFeed(this.pg.sql, bus, this.eventPollMs, (e) => (this.onError ?? console.error)(e), this.eventsFrom);
    // While nobody listens, the feed keeps up from the maintenance probe's answers instead of statements of its own.
    this.pg.eventWatch = this.eventFeed;
    return this.eventFeed;
  }

  async close(): Promise<void> {
    this.pg.eventWatch = undefined;
    this.eventFeed?.close();
    clearInterval(this.sweep);
    this.delivered.clear();
    await this.pg.close();
  }

  /**
   * The worker that was pushed the job settles it: its handler is done, so its
   * stream gets the credit back now, as the memory store gives it, and the
   * next claim runs beside this settlement's commit instead of after it (the
   * worker keeps a job pushed before its slot is free in its backlog). A
   * settlement by anyone else gives the credit back once it succeeded.
   */
  private doneWith(id: string, workerId: string | undefined): void {
    const d = this.delivered.get(id);
    if (d && workerId !== undefined && d.consumer.workerId === workerId) this.settled(id);
  }

  private settled(id: string): void {
    const d = this.delivered.get(id);
    if (!d) return;
    this.delivered.delete(id);
    const pgc = this.pgConsumers.get(d.consumer);
    if (pgc && !pgc.closed) this.pg.grant(pgc, 1);
  }

  /** Schedules and schemas registered through other servers, and run counts, reach this server. */
  private refreshCron(): void {
    if (!this.cronMirror || !this.schemaMirror || this.refreshing) return;
    this.refreshing = true;
    Promise.all([this.cronMirror.refresh(), this.schemaMirror.refresh()])
      .catch((e: unknown) => (this.onError ?? console.error)(e))
      .finally(() => {
        this.refreshing = false;
      });
  }

  /** One pass at a time: the reaper's pass (beforeReap) waits for the timer's, whose give-back it would otherwise race. */
  private expireDeliveries(): Promise<void> {
    const run = this.expiring.then(() => this.expireNow());
    this.expiring = run.catch(() => undefined);
    return run;
  }

  /** As the memory store's reclaim: a stream holding a job past its lease is dead or stuck and gets no more. */
  private async expireNow(): Promise<void> {
    // A little early against the database's clock, so that this runs before the reaper sees the lease out.
    const now = Date.now() + 25;
    const free: Unstarted[] = [];
    for (const [id, d] of this.delivered) {
      if (d.deadline >= now) continue;
      // Closed first, so that the credit settled() gives back does not reach it.
      const stale = !d.consumer.closed;
      if (stale) await this.closeConsumer(d.consumer);
      this.settled(id);
      if (!d.started) free.push({ id, workerId: d.consumer.workerId });
      if (stale) d.consumer.onStale?.("lease");
    }
    await releaseUnstarted(this.pg.sql, free);
  }
}

// Every promise of the seam rejects with an OjsError (job-store.ts): database failures become unavailable/backend_error (a name the class lacks throws at load).
const SEAM_METHODS = `get jobRecords listQueues queueSummary queueHistory queueSettings pressure countByState listDeadLetter deadLetterCount recentEvents submit enqueueBatch
  fetch ack nack cancel heartbeat markStarted reportProgress pauseQueue resumeQueue configureQueue retryDeadLetter deleteDeadLetter retryDiscarded deleteFinished`;
mapRejections(PostgresJobStore.prototype, SEAM_METHODS.split(/\s+/));

/**
 * The factory startServer uses for `store: "postgres://..."`: opens the pool,
 * migrates the schema, and answers the store once the database answered.
 */
export function postgresJobStore(url: string, options: PgStoreOptions = {}): JobStoreFactory {
  return () => PostgresJobStore.open(url, options);
}
