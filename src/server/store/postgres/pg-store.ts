/**
 * The PostgreSQL store: several server processes share one database. Every
 * mutation is a transaction in the database, so the database, not any one
 * process, holds the truth; this object holds only a connection pool, the
 * LISTEN connection, this server's stream consumers and the maintenance timer
 * (lease reaper, cron ticks, the poll for scheduled jobs coming due).
 *
 * Open with PgJobStore.open(url): it creates or migrates the schema first.
 */
import postgres, { type Sql } from "postgres";
import { ConflictError, NotFoundError } from "../../../model/errors.js";
import type { JobError, NormalizedJobRequest } from "../../../model/job.js";
import type { JsonObject, JsonValue } from "../../../model/json.js";
import { fireDueCron, registerCron, removeCron, type PgCronRegistration } from "./cron.js";
import { Dispatcher, type PgConsumer } from "./dispatcher.js";
import { buildJob, enqueueBuilt, enqueueJobs, enqueueLocked, type BuiltJob, type EnqueueOutcome } from "./enqueue.js";
import { enqueueHandedOff, mayHandOff } from "./handoff.js";
import { registered } from "./known-queues.js";
import { barrierAllowed, WalBarrier } from "./wal-barrier.js";
import { isBoundedRefusal } from "./depth.js";
import { AckBatcher } from "./ack-batcher.js";
import { EnqueueGroups } from "./enqueue-group.js";
import { cancelJob, getJob, heartbeatJobs, nackJob, pruneFinished, reapExpired, type HeartbeatResult, type NackOptions } from "./lifecycle.js";
import type { PgJob } from "./rows.js";
import { migrate } from "./schema.js";
import { pauseQueue, queueCounts, resumeQueue, type PgQueueSummary } from "./queues.js";
import { PgWorkflows } from "./workflows.js";
import { claim, LimitedQueues, queueRate, setQueueRate } from "./rate-limits.js";
import { trimEvents, type EventRetention } from "./events.js";
import { pruneKeys } from "./job-rate-limits.js";
import { probeMaintenance } from "./maintenance-probe.js";
import type { EventWatcher } from "./event-watch.js";
import { INSERTED_EVENTS_INLINE } from "./inserted-events.js";
import { PgRetention } from "./retention.js";
import { tenantOf } from "./tenants.js";
import { jobTenant } from "../../tenancy/jobs.js";

const FINISHED: ReadonlySet<string> = new Set(["completed", "cancelled", "discarded"]);

/** How long a server keeps listening for enqueues after its last consumer left (a worker reconnecting need not wait for a LISTEN). */
const LISTEN_LINGER_MS = 30_000;

export interface PgStoreOptions {
  /** Connections in this server's pool. Default 10. */
  maxConnections?: number;
  /** Lease length when neither the job nor the worker says. Default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /**
   * How often this server reaps expired leases, fires due cron ticks and looks
   * for scheduled jobs coming due. Default 250 ms: a job whose worker died is
   * offered again well within 1 s of its lease deadline.
   */
  maintenanceIntervalMs?: number;
  /**
   * Finished jobs (completed, cancelled, discarded; not dead letters) are
   * deleted this long after they finished. Default 24 h.
   */
  finishedRetentionMs?: number;
  /** Told about errors of background work (reaper, pump, LISTEN); they never reach the process. */
  onError?: (e: unknown) => void;
  /** How many events, and how old, ojs_events keeps (events.ts). Default 100 000 and 1 h. */
  eventRetention?: EventRetention;
}

export interface PgStats {
  reclaimed: number;
  pruned: number;
  cronFired: number;
  notifications: number;
  /** Workflows moved on by the maintenance pass (a finished step nobody settled: a crash, the reaper). */
  workflowsSettled: number;
  /** Enqueues that handed their job straight to a waiting consumer of this server (handoff.ts). */
  handedOff: number;
  /** Jobs leased for a consumer that went away before delivery, put back in their queue at once (Dispatcher.giveBack). */
  givenBack: number;
}

export class PgJobStore {
  readonly stats: PgStats = { reclaimed: 0, pruned: 0, cronFired: 0, notifications: 0, workflowsSettled: 0, handedOff: 0, givenBack: 0 };
  private lastPrune = 0;
  /** Queue rules and jobs' keepFor (retention.ts). */
  readonly retention: PgRetention;
  /** Tenants with a max_queue_depth as of the last maintenance pass; one set since is caught by the enqueue's guard (depth.ts). */
  private limitedTenants: ReadonlySet<string> = new Set();
  private readonly dispatcher: Dispatcher;
  private readonly acks: AckBatcher;
  /** Group commit of this server's concurrent single enqueues (enqueue-group.ts). */
  private readonly groups: EnqueueGroups;
  /** Which queues have a rate limit (rate-limits.ts); refreshed by the maintenance pass. */
  private readonly limited = new LimitedQueues();
  /** Chains, groups and batches, kept in the database (workflows.ts). */
  readonly workflows: PgWorkflows;
  private timer: NodeJS.Timeout | undefined;
  private maintaining = false;
  /** Runs before each reap: the job store gives back this server's pushed jobs never started (lease-release.ts), and names
   *  those it holds still, which the reap spares (their lease may run out while it runs; the next pass frees them). */
  beforeReap: (() => Promise<string[]>) | undefined;
  /** The server's event feed (events.ts): the probe reads its watch while nobody listens, so the idle feed sends nothing itself. */
  eventWatch: EventWatcher | undefined;
  /** This server LISTENs while it has consumers (see listenWhileConsumed); set while it does or is starting to. */
  private listening: Promise<(() => Promise<void>) | undefined> | undefined;
  /** When this server last had a consumer (epoch ms): it stops listening a while after the last one left. */
  private consumedAt = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly sql: Sql,
    /** Claims, lease extensions and hand-offs: their commits do not wait for the WAL flush (see claimPool). */
    private readonly claims: Sql,
    private readonly opts: Required<Omit<PgStoreOptions, "maxConnections">>,
    /** Makes a hand-off's commit durable after its push (wal-barrier.ts); undefined where the database does not allow it. */
    private readonly barrier: WalBarrier | undefined,
  ) {
    this.dispatcher = new Dispatcher(claims, opts.visibilityTimeoutMs, opts.onError, this.limited, (job) => this.giveBack(job));
    this.acks = new AckBatcher(sql);
    this.groups = new EnqueueGroups(sql);
    this.workflows = new PgWorkflows(sql, () => this.dispatcher.wake());
    this.retention = new PgRetention(sql, (e) => this.opts.onError(e));
  }

  static async open(url: string, options: PgStoreOptions = {}): Promise<PgJobStore> {
    const sql = postgres(url, {
      max: options.maxConnections ?? 10,
      onnotice: () => undefined,
      // Timestamps stay Date objects; bigint counts come back as numbers where we cast them.
      // Every statement of this pool that inserts jobs writes their events itself: the insert trigger skips its rows (inserted-events.ts).
      connection: { application_name: "ojs-connect", ...INSERTED_EVENTS_INLINE },
    });
    const claims = claimPool(url);
    try {
      await migrate(sql);
    } catch (e) {
      await Promise.all([sql.end({ timeout: 1 }), claims.end({ timeout: 1 })]);
      throw new Error(`PostgreSQL store ${redact(url)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const barrier = (await barrierAllowed(sql).catch(() => false)) ? new WalBarrier(sql) : undefined;
    const store = new PgJobStore(
      sql,
      claims,
      {
        visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
        maintenanceIntervalMs: options.maintenanceIntervalMs ?? 250,
        finishedRetentionMs: options.finishedRetentionMs ?? 24 * 3600_000,
        eventRetention: options.eventRetention ?? {},
        onError: options.onError ?? ((e) => console.error(`ojs-connect postgres store: ${e instanceof Error ? e.message : String(e)}`)),
      },
      barrier,
    );
    await store.limited.refresh(sql);
    store.timer = setInterval(() => void store.maintain(), store.opts.maintenanceIntervalMs);
    store.timer.unref();
    return store;
  }

  async submit(req: NormalizedJobRequest, extra?: JsonObject): Promise<EnqueueOutcome> {
    const built = buildJob(req, extra, Date.now());
    const tenant = jobTenant(built.job.meta);
    // A tenant with a max_queue_depth takes the locked path (tenants.ts); in a group its job would abort the others' statement.
    const locked = tenant !== undefined && this.limitedTenants.has(tenant);
    const r = mayHandOff(built, req) && !locked ? this.dispatcher.reserveSoon(built.job.queue, tenant) : undefined;
    const c = r instanceof Promise ? await r : r;
    if (c) {
      const handed = await this.handOff(built, c);
      if (handed) return { job: handed, deduplicated: false };
    }
    // Concurrent plain enqueues share a statement and its commit (enqueue-group.ts); keyed jobs take their transaction.
    const out = locked
      ? (await enqueueLocked(this.sql, [built]))[0]!
      : built.uniqueKey === undefined && !built.rateLimit
        ? await this.groups.enqueue(built)
        : (await enqueueBuilt(this.sql, [built]))[0]!;
    if (req.rateLimit) this.limited.keyed.add([out.job.job.queue]);
    this.dispatcher.wake();
    return out;
  }

  /**
   * Enqueues a job handing it to the reserved waiting consumer (handoff.ts).
   * Undefined when the job's queue has a depth bound: the caller takes the
   * locked path.
   *
   * The statement commits without waiting for its WAL flush, the job is
   * pushed, and only then does the enqueue wait for the flush (the barrier):
   * the worker gets the job a flush sooner, while the enqueuer is answered
   * once the job is durable, as before. A job so pushed may be lost with its
   * commit in a crash of PostgreSQL before the flush; its enqueue was not
   * answered then (the journal store also pushes before its fsync).
   */
  private async handOff(built: BuiltJob, c: PgConsumer): Promise<PgJob | undefined> {
    const to = { workerId: c.workerId, visibilityTimeoutMs: c.visibilityTimeoutMs ?? this.opts.visibilityTimeoutMs, ...tenantOf(c.tenant) };
    let out;
    try {
      out = await enqueueHandedOff(this.barrier ? this.claims : this.sql, built, to, this.sql);
    } catch (e) {
      this.dispatcher.unreserve(c);
      if (isBoundedRefusal(e)) return undefined;
      throw e;
    }
    if (out.leased) {
      this.stats.handedOff++;
      this.dispatcher.handTo(c, out.leased);
    } else this.dispatcher.unreserve(c);
    await this.barrier?.covering();
    if (out.registers.length) registered(this.sql, out.registers);
    return out.enqueued;
  }

  /**
   * A job leased for a consumer that went away before it was delivered goes
   * back to its queue now, not a lease later through the reaper. Guarded by the
   * worker it was leased to: if it moved on meanwhile, there is nothing to do.
   */
  private giveBack(job: PgJob): void {
    this.stats.givenBack++;
    nackJob(this.sql, job.job.id, { code: "released", message: "its consumer went away before delivery" }, job.workerId, { requeue: true }).then(
      () => this.dispatcher.wake(),
      (e: unknown) => {
        if (!this.closing && !(e instanceof ConflictError) && !(e instanceof NotFoundError)) this.opts.onError(e);
      },
    );
  }

  async enqueueBatch(items: ReadonlyArray<{ req: NormalizedJobRequest; extra?: JsonObject }>): Promise<PgJob[]> {
    if (items.length === 0) return [];
    const out = await enqueueJobs(this.sql, items);
    // This server claims jobs with a rate-limit key at once; the others learn on their maintenance pass.
    this.limited.keyed.add(items.flatMap((it, i) => (it.req.rateLimit ? [out[i]!.job.job.queue] : [])));
    this.dispatcher.wake();
    return out.map((o) => o.job);
  }

  async fetch(req: { queues: readonly string[]; count?: number; workerId?: string; visibilityTimeoutMs?: number; tenant?: string }): Promise<PgJob[]> {
    const n = Math.max(1, Math.min(req.count ?? 1, 1000));
    const slot = { workerId: req.workerId ?? "anonymous", visibilityTimeoutMs: req.visibilityTimeoutMs ?? this.opts.visibilityTimeoutMs };
    const slots = Array.from({ length: n }, () => slot);
    const claimed = await claim(this.claims, { queues: req.queues, slots, ...tenantOf(req.tenant) }, this.limited);
    return claimed.map((c) => c.job);
  }

  /** Claim statements this server ran for its stream consumers. */
  get consumerClaims(): number {
    return this.dispatcher.claims;
  }

  get(id: string): Promise<PgJob> {
    return getJob(this.sql, id);
  }

  async ack(id: string, result: JsonValue | undefined, workerId?: string): Promise<PgJob> {
    return this.settled(await this.acks.ack(id, result, workerId));
  }

  async nack(id: string, error: JobError, workerId?: string, opts: NackOptions = {}): Promise<PgJob> {
    const job = await nackJob(this.sql, id, error, workerId, opts);
    if (job.job.state === "available") this.dispatcher.wake();
    return this.settled(job);
  }

  /**
   * A job of a workflow step finished: its workflow moves on before the
   * caller is answered, so the next steps are there when the worker asks.
   * Should that fail, the job's outcome is committed and the maintenance pass
   * moves the workflow on instead (workflows.ts).
   */
  private async settled(job: PgJob): Promise<PgJob> {
    this.retention.finished(job);
    if (job.workflowStep === undefined || !job.job.workflowId || !FINISHED.has(job.job.state)) return job;
    await this.workflows.settle([job.job.workflowId]).catch((e: unknown) => this.opts.onError(e));
    return job;
  }

  heartbeat(workerId: string, jobIds: readonly string[], visibilityTimeoutMs?: number): Promise<HeartbeatResult> {
    return heartbeatJobs(this.claims, workerId, jobIds, visibilityTimeoutMs ?? this.opts.visibilityTimeoutMs);
  }

  async cancel(id: string): Promise<PgJob> {
    return this.settled(await cancelJob(this.sql, id));
  }

  /** A stream consumer: jobs are pushed to `deliver` while it has credit; grant() more as jobs settle. */
  openConsumer(c: {
    queues: readonly string[];
    workerId: string;
    credit: number;
    visibilityTimeoutMs?: number;
    deliver: (job: PgJob) => void;
    held?: () => boolean;
    tenant?: string;
  }): PgConsumer {
    const consumer = this.dispatcher.add({ ...c, visibilityTimeoutMs: c.visibilityTimeoutMs });
    this.listenWhileConsumed();
    return consumer;
  }

  /**
   * NOTIFY wakes only this server's consumers (Dispatcher.wakeFor), so the
   * server LISTENs only while it has some, and stops LISTEN_LINGER_MS after
   * the last one left (the maintenance pass). A server without consumers (one
   * that only takes enqueues) is then not woken by every enqueue of every
   * server, and PostgreSQL has no listening backend to signal for it: each
   * notification delivered cost a wake-up of this process and of the LISTEN
   * backend, about as much CPU as the enqueue itself on a small machine. A job
   * committed before the LISTEN took effect is not lost: once it has (and on
   * every reconnection of the LISTEN connection), the consumers are woken and
   * claim what is there.
   */
  private listenWhileConsumed(): void {
    this.consumedAt = Date.now();
    if (this.listening || this.closing) return;
    const listening = this.sql
      .listen(
        "ojs_jobs",
        (payload) => {
          this.stats.notifications++;
          this.dispatcher.wakeFor(payload);
        },
        () => this.dispatcher.wake(),
      )
      .then(
        (l) => l.unlisten,
        (e: unknown) => {
          // The next consumer or maintenance pass tries again; until then the maintenance pass wakes the consumers.
          if (this.listening === listening) this.listening = undefined;
          if (!this.closing) this.opts.onError(e);
          return undefined;
        },
      );
    this.listening = listening;
  }

  /** Stops listening once no consumer has been here for LISTEN_LINGER_MS; listens again if a consumer is here but LISTEN failed. */
  private async adjustListening(): Promise<void> {
    if (this.dispatcher.size > 0) {
      this.listenWhileConsumed();
      return;
    }
    if (!this.listening || Date.now() - this.consumedAt < LISTEN_LINGER_MS) return;
    const listening = this.listening;
    this.listening = undefined;
    await (
      await listening
    )?.();
  }

  /** Whether this server LISTENs for enqueues (tests). */
  get listeningForJobs(): boolean {
    return this.listening !== undefined;
  }

  grant(c: PgConsumer, n = 1): void {
    this.dispatcher.grant(c, n);
  }

  /** Something changed that may let consumers receive again (a worker told to run). */
  wake(): void {
    this.dispatcher.wake();
  }

  closeConsumer(c: PgConsumer): void {
    this.dispatcher.remove(c);
    this.consumedAt = Date.now();
  }

  pauseQueue(name: string): Promise<void> {
    return pauseQueue(this.sql, name);
  }

  async resumeQueue(name: string): Promise<void> {
    await resumeQueue(this.sql, name);
    this.dispatcher.wake();
  }

  /** A queue's limit of claims per second over all servers (0 removes it). */
  async setQueueRate(name: string, perSecond: number): Promise<void> {
    await setQueueRate(this.sql, name, perSecond, this.limited);
    this.dispatcher.wake();
  }

  queueRate(name: string): Promise<number | undefined> {
    return queueRate(this.sql, name);
  }

  queueSummary(name: string): Promise<PgQueueSummary> {
    return queueCounts(this.sql, name);
  }

  registerCron(reg: PgCronRegistration): Promise<Date> {
    return registerCron(this.sql, reg);
  }

  removeCron(name: string): Promise<boolean> {
    return removeCron(this.sql, name);
  }

  /** One maintenance pass (also run by the timer): reap leases, fire cron, wake consumers for jobs coming due. */
  async maintain(): Promise<void> {
    if (this.maintaining || this.closing) return;
    this.maintaining = true;
    try {
      // One statement asks what is due; the work runs only when something is (maintenance-probe.ts).
      const watch = this.eventWatch;
      const eventsAfter = watch?.watchAfter();
      const sentAt = Date.now();
      const due = await probeMaintenance(this.sql, eventsAfter);
      if (due.events && eventsAfter !== undefined) watch?.applyWatch(due.events, eventsAfter, sentAt);
      this.limited.apply(due.limited, due.keyed);
      this.limitedTenants = new Set(due.limitedTenants);
      await this.adjustListening();
      if (due.reap) {
        const spare = (await this.beforeReap?.()) ?? [];
        const reaped = await reapExpired(this.sql, 1000, spare);
        this.stats.reclaimed += reaped.reclaimed;
        if (reaped.queues.length) await this.sql`SELECT pg_notify('ojs_jobs', ${reaped.queues.join(",")})`;
      }
      if (due.cron) this.stats.cronFired += (await fireDueCron(this.sql)).length;
      if (due.strayWorkflowSteps) this.stats.workflowsSettled += await this.workflows.settleStray();
      // Retention runs at most once a second: it is bookkeeping, not latency.
      if (Date.now() - this.lastPrune >= 1000) {
        this.lastPrune = Date.now();
        this.stats.pruned += await pruneFinished(this.sql, this.opts.finishedRetentionMs);
        // Queue rules and jobs' keepFor (retention.ts): every rule applied here, whichever server set it.
        this.stats.pruned += await this.retention.pass();
        await this.workflows.prune(this.opts.finishedRetentionMs);
        await trimEvents(this.sql, this.opts.eventRetention);
        await pruneKeys(this.sql);
      }
      if (this.dispatcher.size > 0) this.dispatcher.wake();
    } catch (e) {
      if (!this.closing) this.opts.onError(e);
    } finally {
      this.maintaining = false;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.retention.close();
      this.dispatcher.close();
      const unlisten = await this.listening;
      this.listening = undefined;
      await unlisten?.().catch(() => undefined);
      await Promise.all([this.sql.end({ timeout: 5 }), this.claims.end({ timeout: 5 })]);
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The connections that claim jobs and extend leases. Their transactions commit
 * with synchronous_commit off: the commit is visible at once but does not wait
 * for its WAL to reach the disk, so a claim costs no WAL flush (the one wait
 * that dominates a claim on a real disk) and a job reaches its worker sooner.
 * Nothing answered as durable depends on it: a claim or lease extension lost
 * in a crash of PostgreSQL itself only means the job is offered again
 * (at-least-once, as for any lost claim), and the ack, nack or cancel that
 * settles a claimed job commits synchronously, which flushes the WAL up to and
 * including the claim before it is answered. A hand-off's enqueue statement
 * (handoff.ts) runs here too, and its enqueue is answered only after a
 * synchronous commit of the main pool has flushed it (wal-barrier.ts).
 * Other enqueues, settlements and queue changes stay on the synchronous pool.
 */
function claimPool(url: string): Sql {
  return postgres(url, {
    max: 2,
    onnotice: () => undefined,
    // Hand-offs insert jobs here, with their events (inserted-events.ts).
    connection: { application_name: "ojs-connect claims", synchronous_commit: "off", ...INSERTED_EVENTS_INLINE },
  });
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable url)";
  }
}
