/**
 * The consumer side of OJS. A Worker owns a set of slots (its concurrency),
 * gets jobs for free slots from a dispatcher (a gRPC StreamJobs stream, or
 * fetch polling), runs each through the middleware chain and its handler, and
 * settles it with exactly one ack or nack.
 *
 * Lifecycle: idle -> running <-> quiet -> terminate -> terminated.
 */
import type { z } from "zod";
import { resolveTransport, type ConnectionOptions } from "../transport/connection.js";
import { resolveLogger } from "../util/logger.js";
import { checkOptionKeys } from "../util/options.js";
import { attachWorkerLogger, WORKER_OPTION_KEYS } from "./log.js";
import { CodecChain } from "../codec/payload/chain.js";
import type { PayloadCodec } from "../codec/payload/types.js";
import { UnimplementedError, ValidationError } from "../model/errors.js";
import type { Job } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import { jobTypeSchema, queueNameSchema } from "../model/schemas.js";
import type { WorkerDirective } from "../model/system.js";
import { uuidv7 } from "../model/uuid.js";
import type { Transport } from "../transport/transport.js";
import { Backoff, sleep } from "../util/backoff.js";
import { Emitter } from "../util/emitter.js";
import { HandlerNotFoundError, JobAbortedError, JobCancelledError, JobTimeoutError, MiddlewareError, NonRetryableError, ShutdownError, toJobError } from "./errors.js";
import { kRunJob, type RunJobOptions } from "./internal.js";
import { ProgressReporter } from "./progress.js";
import { AttemptCheckpoint } from "./checkpoint.js";
import { LazyAbort } from "../util/lazy-abort.js";
import { ackWithRetry, nackWithRetry } from "./settle.js";
import { abandonedLine, HardDeadline, type AbandonedReport } from "./hard-deadline.js";
import { StallPolicy, type StallFallback, type StallFallbackOptions } from "./stall-policy.js";
import type { Handler, HandlerResult, JobContext, Middleware } from "./types.js";

export interface WorkerOptions extends ConnectionOptions {
  /** Queues to take jobs from, highest priority first; default ["default"] (or OJS_QUEUE, comma-separated). */
  queues?: string[];
  /** Most jobs running at once; default 10 (or OJS_CONCURRENCY). */
  concurrency?: number;
  /** Unique per process; default a UUIDv7. */
  workerId?: string;
  /** Reservation requested for each job, extended by every heartbeat; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** Default 5 000 ms. */
  heartbeatIntervalMs?: number;
  /** How long stop() waits for running jobs before failing them with "shutdown"; default 25 000 ms. */
  gracePeriodMs?: number;
  /** Longest wait between polls of an empty queue (HTTP, or gRPC without streaming); default 1 000 ms. */
  pollIntervalMs?: number;
  /** "auto" (stream when the transport can, else poll), "stream" or "poll". Default "auto". */
  dispatch?: "auto" | "stream" | "poll";
  /** Stop on SIGTERM/SIGINT (a second signal forces it); default true. */
  handleSignals?: boolean;
  /**
   * With handleSignals: how long after the first signal a worker whose handlers
   * are still running (they ignored their abort signal) ends the process, with
   * exit code 1, after reporting the jobs it abandons ("abandoned" event and a
   * line on stderr). A second signal does the same at once. Default
   * gracePeriodMs + 3 000 ms; 0 never.
   */
  hardDeadlineMs?: number;
  /** How often an idle stream is cross-checked with a unary fetch; default 2 000 ms. */
  watchdogIntervalMs?: number;
  /**
   * After `count` stalls of StreamJobs within `withinMs` (the watchdog found work the
   * stream did not push), poll with Fetch for `pollForMs`, then try the stream again;
   * default 3 within 3 minutes, polling 5 minutes. false keeps streaming regardless.
   */
  stallFallback?: StallFallbackOptions | false;
  /**
   * When polling (HTTP), how long the server may hold an empty fetch waiting for
   * work, so that a job starts as soon as it is enqueued; default 20 000 ms, 0 to
   * turn off. Servers without long polling answer at once and the worker backs off.
   */
  longPollMs?: number;
  /**
   * After a job's signal aborts (its timeout, ctx.abort()), how long its handler
   * may take to stop before the job is failed anyway; default 5 000 ms.
   */
  abortGraceMs?: number;
  /**
   * Payload codecs (docs/encryption.md): encoded args are decoded before
   * middleware and handler see them, and results are encoded before the ack.
   */
  codecs?: readonly PayloadCodec[];
}

/** Lifecycle of a worker: idle -> running <-> quiet -> terminate -> terminated. */
export type WorkerState = "idle" | "running" | "quiet" | "terminate" | "terminated";

/** Events a Worker emits (worker.on(name, listener)); a listener that throws is reported as `error`, never fails a job. */
export interface WorkerEvents {
  started: { workerId: string };
  quiet: { workerId: string };
  running: { workerId: string };
  stopping: { workerId: string; active: number };
  stopped: { workerId: string };
  "job.started": { job: Job };
  "job.completed": { job: Job; result: HandlerResult; durationMs: number };
  "job.failed": { job: Job; error: unknown; durationMs: number };
  /** The server no longer holds the job for this worker (cancelled, or its reservation was lost): its signal was aborted. */
  "job.cancelled": { job: Job };
  /** The server did not take an ack or nack even after retries; the job comes back through its visibility timeout. */
  "job.settleFailed": { job: Job; outcome: "ack" | "nack"; error: unknown };
  "stream.reconnect": { attempt: number; delayMs: number; error: unknown };
  /** Polling instead of streaming: for good (no StreamJobs), or for `pollForMs` after repeated stalls. */
  "dispatch.fallback": { from: "stream"; to: "poll"; reason: string; stalls?: number; pollForMs?: number };
  /** The server took a heartbeat: the connection works. */
  heartbeat: { directive: WorkerDirective | undefined };
  /** Handlers still running when the shutdown ended: their jobs were handed back (or left to their leases) and the worker no longer waits for them. */
  abandoned: AbandonedReport;
  /** Something went wrong outside any one job (heartbeat, fetch, a listener). The worker keeps going. */
  error: { error: unknown; context: string };
}

interface Registration {
  handler: Handler<unknown>;
  schema: z.ZodType | undefined;
  checkpoint: z.ZodType | undefined;
}

interface ActiveJob {
  job: Job;
  abort: LazyAbort;
  /** Created on the first ctx.progress() call. */
  progress: ProgressReporter | undefined;
  /** Set once an ack or nack has been decided, so that nothing settles the job twice. */
  settled: boolean;
  startedAt: number;
  done: Promise<void>;
  /** Fails the job if its handler outlives an abort by more than abortGraceMs. */
  forceTimer: NodeJS.Timeout | undefined;
}

/**
 * The consumer side of OJS: takes jobs from its queues, runs each through middleware and its
 * handler, and settles it with exactly one ack or nack. See the README's Worker section.
 */
export class Worker extends Emitter<WorkerEvents> implements AsyncDisposable {
  readonly workerId: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  private readonly transport: Transport;
  private readonly ownsTransport: boolean;
  private readonly opts: Required<Pick<WorkerOptions, "visibilityTimeoutMs" | "heartbeatIntervalMs" | "gracePeriodMs" | "pollIntervalMs" | "dispatch" | "handleSignals" | "watchdogIntervalMs" | "abortGraceMs" | "longPollMs" | "hardDeadlineMs">>;
  private readonly handlers = new Map<string, Registration>();
  private readonly middleware: Middleware[] = [];
  private chain: ((ctx: JobContext<unknown>, handler: () => Promise<HandlerResult>) => Promise<HandlerResult>) | undefined;

  private _state: WorkerState = "idle";
  private readonly active = new Map<string, ActiveJob>();
  /** Received but not started yet, waiting for a slot; bounded by the stream's credit. */
  private backlog: Array<{ job: Job; onSettled: (() => void) | undefined }> = [];
  /** Aborts the dispatcher (stream or poll) when the worker stops fetching. */
  private fetchAbort = new AbortController();
  /** Aborts everything, including settle retries, when the stop is forced. */
  private readonly hardAbort = new AbortController();
  private slotWaiters: Array<() => void> = [];
  private stopPromise: Promise<void> | undefined;
  private runPromise: Promise<void> | undefined;
  private resolveRun: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight: Promise<void> | undefined;
  private signalHandler: ((sig: NodeJS.Signals) => void) | undefined;
  private signalCount = 0;
  private readonly deadline = new HardDeadline(
    () => [...this.active.values()].map((a) => a.job),
    (r) => {
      const report = { workerId: this.workerId, ...r };
      this.emit("abandoned", report); // the logger (attachWorkerLogger below) prints the line
    },
  );
  private dispatcherDone: Promise<void> = Promise.resolve();
  private readonly stallPolicy: StallPolicy | undefined;
  private readonly codecs: CodecChain | undefined;

  /**
   * Checks every option (an unknown key, a URL that is not http(s), a bad
   * number: ValidationError here, naming it) and builds the transport. Nothing
   * connects until start().
   */
  constructor(opts: WorkerOptions = {}) {
    super((error, event) => this.emit("error", { error, context: `listener of ${String(event)}` }));
    checkOptionKeys(opts, WORKER_OPTION_KEYS, "new Worker");
    const logger = resolveLogger(opts.logger, "new Worker");
    const env = process.env;
    this.queues = opts.queues ?? (env.OJS_QUEUE ? env.OJS_QUEUE.split(",").map((q) => q.trim()).filter(Boolean) : ["default"]);
    if (this.queues.length === 0) throw new ValidationError("queues: must name at least one queue");
    for (const q of this.queues) {
      const r = queueNameSchema.safeParse(q);
      if (!r.success) throw new ValidationError(`queues: "${q}" ${r.error.issues[0]?.message ?? "is not a valid queue name"}`);
    }
    this.concurrency = opts.concurrency ?? (env.OJS_CONCURRENCY ? Number(env.OJS_CONCURRENCY) : 10);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new ValidationError(`concurrency: must be a positive integer, got ${this.concurrency}`);
    this.workerId = opts.workerId ?? uuidv7();
    this.opts = {
      visibilityTimeoutMs: positive(opts.visibilityTimeoutMs, 30_000, "visibilityTimeoutMs"),
      heartbeatIntervalMs: positive(opts.heartbeatIntervalMs, 5_000, "heartbeatIntervalMs"),
      gracePeriodMs: nonNegative(opts.gracePeriodMs, 25_000, "gracePeriodMs"),
      pollIntervalMs: positive(opts.pollIntervalMs, 1_000, "pollIntervalMs"),
      dispatch: oneOf(opts.dispatch, ["auto", "stream", "poll"] as const, "auto", "dispatch"),
      handleSignals: opts.handleSignals ?? true,
      watchdogIntervalMs: positive(opts.watchdogIntervalMs, 2_000, "watchdogIntervalMs"),
      abortGraceMs: nonNegative(opts.abortGraceMs, 5_000, "abortGraceMs"),
      longPollMs: nonNegative(opts.longPollMs, 20_000, "longPollMs"),
      hardDeadlineMs: 0,
    };
    this.stallPolicy = opts.stallFallback === false ? undefined : new StallPolicy(opts.stallFallback);
    this.codecs = opts.codecs?.length ? new CodecChain(opts.codecs) : undefined;
    this.opts.hardDeadlineMs = nonNegative(opts.hardDeadlineMs, this.opts.gracePeriodMs + 3_000, "hardDeadlineMs");
    const { transport, owned, url } = resolveTransport(opts);
    this.transport = transport;
    this.ownsTransport = owned;
    attachWorkerLogger(this, logger, `ojs-connect worker ${this.workerId}${url ? ` -> ${url}` : ""}`);
    this.on("abandoned", (r) => logger.error(abandonedLine(r)));
  }

  /** Where the worker is in its lifecycle. */
  get state(): WorkerState {
    return this._state;
  }

  /** Number of jobs being worked on right now. */
  get activeCount(): number {
    return this.active.size;
  }

  /** Ids of the jobs being worked on right now. */
  get activeJobIds(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Registers the handler for a job type. The typed form validates args with a
   * zod schema first: args that do not parse fail the job without a retry and
   * the handler is not called.
   *
   * ```ts
   * worker.register("email.send", async (ctx) => sendMail(ctx.args[0]));
   * worker.register("invoice.pay", { args: z.tuple([z.object({ id: z.string() })]) }, async (ctx) => pay(ctx.args[0].id));
   * ```
   *
   * A `checkpoint` schema types ctx.checkpoint() and ctx.lastCheckpoint() (durable execution).
   */
  register(type: string, handler: Handler<JsonValue[]>): this;
  register<S extends z.ZodType, C extends z.ZodType = z.ZodType<JsonValue>>(type: string, spec: { args: S; checkpoint?: C }, handler: Handler<z.output<S>, z.output<C>>): this;
  register(type: string, a: Handler<JsonValue[]> | { args: z.ZodType; checkpoint?: z.ZodType }, b?: Handler<unknown, unknown>): this {
    const t = jobTypeSchema.safeParse(type);
    if (!t.success) throw new ValidationError(`type: "${type}" ${t.error.issues[0]?.message ?? "is not a valid job type"}`);
    if (this._state !== "idle") throw new ValidationError("register() must be called before start()");
    if (typeof a === "function") this.handlers.set(type, { handler: a as Handler<unknown>, schema: undefined, checkpoint: undefined });
    else {
      if (typeof b !== "function") throw new ValidationError("register(type, { args }, handler): handler must be a function");
      this.handlers.set(type, { handler: b as Handler<unknown>, schema: a.args, checkpoint: a.checkpoint });
    }
    return this;
  }

  /** Adds execution middleware; the first added runs outermost. */
  use(mw: Middleware): this {
    if (this._state !== "idle") throw new ValidationError("use() must be called before start(): the chain is frozen while jobs run");
    this.middleware.push(mw);
    return this;
  }

  /**
   * Starts taking jobs. The promise resolves once the worker has stopped and
   * every job it took is settled. Aborting `signal` is the same as stop().
   */
  start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    // A worker never restarts once stopped (WP §2.3): a new process, or a new Worker, is needed.
    if (this._state === "terminated" || this._state === "terminate")
      return Promise.reject(new ValidationError(`cannot start a worker that is ${this._state}; create a new Worker`));
    if (this.runPromise) return this.runPromise;
    if (this.handlers.size === 0) return Promise.reject(new ValidationError("register at least one handler before start()"));
    this.chain = compose(this.middleware);
    this._state = "running";
    this.runPromise = new Promise<void>((resolve) => (this.resolveRun = resolve));
    if (opts.signal) {
      if (opts.signal.aborted) void this.stop();
      else opts.signal.addEventListener("abort", () => void this.stop(), { once: true });
    }
    if (this.opts.handleSignals) this.installSignals();
    this.emit("started", { workerId: this.workerId });
    this.scheduleHeartbeat();
    this.dispatcherDone = this.runDispatcher().catch((error) => this.emit("error", { error, context: "dispatcher" }));
    return this.runPromise;
  }

  /**
   * Graceful shutdown: stop fetching, keep heartbeating while running jobs
   * finish, and after `gracePeriodMs` abort what is left and fail it with
   * "shutdown" so the server retries it elsewhere. Idempotent; every caller
   * gets the same promise.
   */
  stop(opts: { gracePeriodMs?: number } = {}): Promise<void> {
    if (this._state === "idle") {
      this._state = "terminated";
      void this.cleanupConnections();
      return Promise.resolve();
    }
    this.stopPromise ??= this.shutdown(opts.gracePeriodMs ?? this.opts.gracePeriodMs);
    return this.stopPromise;
  }

  /** Same as stop(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Runs one job through this worker's handler and middleware, in process, with
   * no transport, no slot and no settling: the result, or the error the attempt
   * failed with (the abort reason when the handler stopped because its signal
   * aborted, as execute() decides). For the testing toolkit (drain, inline mode).
   */
  async [kRunJob](job: Job, opts: RunJobOptions = {}): Promise<HandlerResult> {
    // Until start() freezes it, the chain follows use() calls made between runs.
    if (this._state === "idle" || !this.chain) this.chain = compose(this.middleware);
    const abort = new LazyAbort();
    const { signal } = opts;
    if (signal) {
      if (signal.aborted) abort.abort(signal.reason);
      else signal.addEventListener("abort", () => abort.abort(signal.reason), { once: true });
    }
    const a: ActiveJob = { job, abort, progress: undefined, settled: false, startedAt: Date.now(), done: Promise.resolve(), forceTimer: undefined };
    // No force-fail timer and no nack through this worker's transport: the caller settles the job.
    const overrides: Partial<JobContext<unknown>> = {
      progress: () => undefined,
      heartbeat: async () => undefined,
      abort: (reason?: unknown) => {
        abort.abort(reason instanceof Error ? reason : new JobAbortedError(reason === undefined ? "aborted by the handler" : String(reason)));
      },
      ...opts.context,
    };
    try {
      return await this.invoke(a, overrides, opts.checkpointTransport);
    } catch (error) {
      const reason = abort.aborted ? abort.reason : undefined;
      throw reason instanceof Error ? reason : error;
    }
  }

  // --- lifecycle -------------------------------------------------------------------

  private async shutdown(graceMs: number): Promise<void> {
    this.setState("terminate");
    this.emit("stopping", { workerId: this.workerId, active: this.active.size });
    this.fetchAbort.abort();
    this.wakeSlotWaiters();
    await this.dispatcherDone;
    await this.releaseBacklog();
    const drained = this.drained();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), graceMs)));
    const hard = new Promise<"forced">((resolve) => {
      if (this.hardAbort.signal.aborted) resolve("forced");
      else this.hardAbort.signal.addEventListener("abort", () => resolve("forced"), { once: true });
    });
    const outcome = await Promise.race([drained.then(() => "drained" as const), graceOver, hard]);
    clearTimeout(timer);
    if (outcome !== "drained") {
      // Fail what is left so another worker can take it now, instead of after its visibility timeout.
      const leftovers = [...this.active.values()].filter((a) => !a.settled);
      for (const a of leftovers) {
        a.settled = true;
        a.abort.abort(new ShutdownError());
      }
      await Promise.all(
        leftovers.map(async (a) => {
          const err = toJobError(new ShutdownError());
          const r = await nackWithRetry(this.transport, a.job.id, err, this.workerId, { attempts: 2 });
          if (!r.ok) this.emit("job.settleFailed", { job: a.job, outcome: "nack", error: r.error });
          else this.emit("job.failed", { job: a.job, error: new ShutdownError(), durationMs: Date.now() - a.startedAt });
        }),
      );
    }
    this.stopHeartbeat();
    await this.heartbeatInFlight;
    await this.sendHeartbeat("terminate").catch(() => undefined);
    // Handlers that ignored their abort are abandoned; the signal handlers stay (a second
    // signal ends the process) until the last of them returns.
    if (this.active.size > 0) this.emit("abandoned", { workerId: this.workerId, jobs: [...this.active.values()].map((a) => a.job), reason: "grace_period" });
    else this.removeSignals();
    await this.cleanupConnections();
    this._state = "terminated";
    this.emit("stopped", { workerId: this.workerId });
    this.resolveRun?.();
  }

  private async cleanupConnections(): Promise<void> {
    if (this.ownsTransport) await this.transport.close().catch(() => undefined);
  }

  private setState(s: "running" | "quiet" | "terminate"): void {
    if (this._state === s || this._state === "terminated") return;
    // Never back from terminate (WP §2.3).
    if (this._state === "terminate") return;
    const prev = this._state;
    this._state = s;
    if (s === "quiet") {
      this.fetchAbort.abort();
      this.emit("quiet", { workerId: this.workerId });
    } else if (s === "running" && prev === "quiet") {
      this.fetchAbort = new AbortController();
      this.emit("running", { workerId: this.workerId });
      this.dispatcherDone = this.runDispatcher().catch((error) => this.emit("error", { error, context: "dispatcher" }));
    }
  }

  /** Applies a server directive: quiet stops fetching, terminate stops the worker, running resumes from quiet. */
  private applyDirective(d: WorkerDirective): void {
    if (d === "terminate") void this.stop();
    else if (d === "quiet" && this._state === "running") this.setState("quiet");
    else if (d === "running" && this._state === "quiet") this.setState("running");
  }

  private installSignals(): void {
    this.signalHandler = (sig) => {
      this.signalCount++;
      if (this.signalCount === 1) {
        void this.stop();
        this.deadline.arm(this.opts.hardDeadlineMs);
      } else {
        // A second signal means "now": skip the rest of the grace period, then end the
        // process if handlers are still running (after a moment for their nacks to go out).
        this.hardAbort.abort(new JobAbortedError(`forced stop by second ${sig}`));
        const settled = setTimeout(() => this.deadline.force("second_signal"), 1_000);
        settled.unref();
        void this.stopPromise?.then(() => {
          clearTimeout(settled);
          this.deadline.force("second_signal");
        });
      }
    };
    process.on("SIGTERM", this.signalHandler);
    process.on("SIGINT", this.signalHandler);
  }

  private removeSignals(): void {
    if (!this.signalHandler) return;
    process.off("SIGTERM", this.signalHandler);
    process.off("SIGINT", this.signalHandler);
    this.signalHandler = undefined;
  }

  // --- heartbeats ---------------------------------------------------------------------

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatInFlight = this.sendHeartbeat(this._state === "quiet" ? "quiet" : this._state === "terminate" ? "terminate" : "running")
        .then((d) => {
          this.emit("heartbeat", { directive: d });
          if (d) this.applyDirective(d);
        })
        .catch((error) => this.emit("error", { error, context: "heartbeat" }))
        .finally(() => {
          this.heartbeatInFlight = undefined;
          if (this.heartbeatTimer !== undefined) this.scheduleHeartbeat();
        });
    }, this.opts.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** One beat: reports state and the running jobs, extends their reservations. Failures keep the state as is. */
  private async sendHeartbeat(state: WorkerDirective, ids = [...this.active.keys(), ...this.backlog.map((b) => b.job.id)]): Promise<WorkerDirective | undefined> {
    const r = await this.transport.heartbeat(
      { workerId: this.workerId, state, activeJobIds: ids, visibilityTimeoutMs: this.opts.visibilityTimeoutMs },
      { timeoutMs: Math.max(1000, this.opts.heartbeatIntervalMs) },
    );
    for (const id of r.lost ?? []) this.loseJob(id);
    return r.directive;
  }

  /**
   * The server says a running job is no longer ours (cancelled, or its lease went
   * to another worker): abort its signal and settle nothing, since the server
   * would refuse an ack or nack for it anyway.
   */
  private loseJob(id: string): void {
    const waiting = this.backlog.findIndex((b) => b.job.id === id);
    if (waiting >= 0) {
      const [b] = this.backlog.splice(waiting, 1);
      b!.onSettled?.();
      this.emit("job.cancelled", { job: b!.job });
      return;
    }
    const a = this.active.get(id);
    if (!a || a.settled) return;
    a.settled = true;
    a.abort.abort(new JobCancelledError());
    this.emit("job.cancelled", { job: a.job });
  }

  // --- dispatch ---------------------------------------------------------------------------

  private get fetching(): boolean {
    return this._state === "running" && !this.fetchAbort.signal.aborted;
  }

  private get freeSlots(): number {
    return this.concurrency - this.active.size - this.backlog.length;
  }

  private waitForSlot(): Promise<void> {
    if (this.freeSlots > 0 || !this.fetching) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private wakeSlotWaiters(): void {
    const w = this.slotWaiters;
    this.slotWaiters = [];
    for (const f of w) f();
  }

  private async runDispatcher(): Promise<void> {
    const canStream = typeof this.transport.streamJobs === "function" && this.opts.dispatch !== "poll";
    while (canStream && this.fetching) {
      const r = await this.streamLoop();
      if (r === "unimplemented") break;
      if (r === undefined) return;
      // The stream stalled too often: poll for a while, say so once, then stream again.
      this.emit("dispatch.fallback", { from: "stream", to: "poll", reason: r.message, stalls: r.stalls, pollForMs: r.pollForMs });
      await this.pollLoop(Date.now() + r.pollForMs);
    }
    await this.pollLoop();
  }

  /**
   * Streams until the worker stops fetching (undefined), the server has no
   * StreamJobs ("unimplemented": poll for good), or the stream stalled too often
   * (the fallback to make).
   */
  private async streamLoop(): Promise<"unimplemented" | StallFallback | undefined> {
    const backoff = new Backoff(100, 10_000);
    let attempt = 0;
    let fallback: StallFallback | undefined;
    while (this.fetching) {
      if (fallback) return fallback;
      await this.waitForSlot();
      if (!this.fetching) break;
      const streamAbort = new AbortController();
      const onStop = () => streamAbort.abort();
      this.fetchAbort.signal.addEventListener("abort", onStop, { once: true });
      // Full credit even when jobs from an earlier stream are still running: jobs pushed
      // beyond the free slots wait in the backlog (at most `concurrency` of them), whereas
      // a smaller credit would leave slots idle until the stream is reopened.
      const max = this.concurrency;
      let inFlight = 0;
      let lastJobAt = Date.now();
      let stalled = false;
      // The watchdog: an open stream that delivers nothing while slots are free is
      // cross-checked with a unary fetch. Work found that way means the stream is
      // stuck (some servers stop pushing after max_concurrent jobs): run that work
      // and reopen the stream.
      const watchdog = setInterval(() => {
        if (!this.fetching || this.freeSlots <= 0 || Date.now() - lastJobAt < this.opts.watchdogIntervalMs) return;
        // Only while nothing from this stream is in flight: then the silence cannot be backpressure.
        if (inFlight > 0) return;
        const probe = this.freeSlots;
        void this.fetchOnce(probe, streamAbort.signal).then((n) => {
          if (n > 0) {
            stalled = true;
            fallback = this.stallPolicy?.recordStall();
            streamAbort.abort();
          }
          lastJobAt = Date.now();
        });
      }, this.opts.watchdogIntervalMs);
      try {
        const stream = this.transport.streamJobs!(
          { queues: [...this.queues], workerId: this.workerId, maxConcurrent: max, visibilityTimeoutMs: this.opts.visibilityTimeoutMs },
          { signal: streamAbort.signal },
        );
        for await (const job of stream) {
          lastJobAt = Date.now();
          backoff.reset();
          attempt = 0;
          inFlight++;
          this.accept(job, () => inFlight--);
        }
        if (!this.fetching) break;
        if (!stalled) {
          // The server ended the stream: reopen after a short pause.
          await sleep(backoff.next(), this.fetchAbort.signal);
        }
      } catch (e) {
        if (!this.fetching) break;
        if (stalled) continue;
        if (e instanceof UnimplementedError) {
          this.emit("dispatch.fallback", { from: "stream", to: "poll", reason: e.message });
          return "unimplemented";
        }
        attempt++;
        const delayMs = backoff.next();
        this.emit("stream.reconnect", { attempt, delayMs, error: e });
        await sleep(delayMs, this.fetchAbort.signal);
      } finally {
        clearInterval(watchdog);
        this.fetchAbort.signal.removeEventListener("abort", onStop);
        streamAbort.abort();
      }
    }
    return undefined;
  }

  /** One unary fetch for up to `count` jobs; returns how many were taken. Errors are reported, not thrown. */
  private async fetchOnce(count: number, signal: AbortSignal): Promise<number> {
    try {
      const jobs = await this.transport.fetch(
        { queues: [...this.queues], count, workerId: this.workerId, visibilityTimeoutMs: this.opts.visibilityTimeoutMs },
        { signal },
      );
      for (const job of jobs) this.accept(job);
      return jobs.length;
    } catch (error) {
      if (!signal.aborted) this.emit("error", { error, context: "fetch" });
      return 0;
    }
  }

  /** Polls until the worker stops fetching, or until the time `until` (ms) when given. */
  private async pollLoop(until = Infinity): Promise<void> {
    const idle = new Backoff(25, this.opts.pollIntervalMs);
    const failing = new Backoff(200, 30_000);
    while (this.fetching && Date.now() < until) {
      await this.waitForSlot();
      if (!this.fetching || Date.now() >= until) break;
      // A long poll ends by the deadline too.
      const waitMs = Math.min(this.opts.longPollMs, Math.max(0, Math.ceil(until - Date.now())));
      try {
        const asked = Date.now();
        const jobs = await this.transport.fetch(
          { queues: [...this.queues], count: this.freeSlots, workerId: this.workerId, visibilityTimeoutMs: this.opts.visibilityTimeoutMs, ...(waitMs ? { waitMs } : {}) },
          { signal: this.fetchAbort.signal },
        );
        failing.reset();
        if (jobs.length > 0) {
          idle.reset();
          for (const job of jobs) this.accept(job);
          continue;
        }
        // The server held the call (long poll) and nothing came: ask again at once.
        if (waitMs && Date.now() - asked >= waitMs * 0.8) continue;
        // Empty and answered at once (a server without long polling): back off, a little more each time.
        await this.sleepOrStop(Math.min(idle.next(), until - Date.now()));
      } catch (error) {
        if (!this.fetching) break;
        this.emit("error", { error, context: "fetch" });
        await sleep(Math.min(failing.next(), Math.max(0, until - Date.now())), this.fetchAbort.signal);
      }
    }
  }

  private sleepOrStop(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.fetchAbort.signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.fetchAbort.signal.addEventListener("abort", done, { once: true });
    });
  }

  // --- running one job -------------------------------------------------------------------

  /**
   * Takes ownership of a job the server handed us. Every accepted job ends in
   * exactly one ack or nack (or, if the server cannot be reached, is left to its
   * visibility timeout); none is dropped.
   */
  private accept(job: Job, onSettled?: () => void): void {
    const held = this.active.get(job.id);
    if (held && job.attempt > held.job.attempt) {
      // The next attempt of a job whose last attempt we are still settling: the server took our
      // nack and the retry came due before its answer reached us. Run it once that attempt is
      // done, never beside it, and never drop it (it would sit out its whole lease).
      const later = () => this.accept(job, onSettled);
      void held.done.then(later, later);
      return;
    }
    if (held || this.backlog.some((b) => b.job.id === job.id)) {
      // The server delivered a job we already hold (its lease expired and it came back to us):
      // running it twice concurrently would be our bug, so leave the copy to the attempt we hold.
      onSettled?.();
      return;
    }
    // The server may hand over more than there are free slots (a stream's credit is freed
    // when a job is settled, and a job failed after an ignored abort is settled before its
    // handler returns). Such jobs wait here, bounded by that credit, and start when a slot frees.
    if (this.active.size >= this.concurrency) {
      this.backlog.push({ job, onSettled });
      return;
    }
    this.run(job, onSettled);
  }

  private run(job: Job, onSettled: (() => void) | undefined): void {
    const a: ActiveJob = { job, abort: new LazyAbort(), progress: undefined, settled: false, startedAt: Date.now(), done: Promise.resolve(), forceTimer: undefined };
    this.active.set(job.id, a);
    // Jobs from a stream come with a credit callback; fetched ones do not.
    a.done = this.execute(a, onSettled !== undefined).finally(() => {
      a.progress?.stop();
      this.active.delete(job.id);
      onSettled?.();
      const next = this.backlog.shift();
      if (next) this.run(next.job, next.onSettled);
      else if (this.slotWaiters.length) this.slotWaiters.shift()!();
      if (this.active.size === 0) {
        this.wakeDrainWaiters();
        // The last abandoned handler returned after the shutdown: nothing left to force.
        if (this._state === "terminated") {
          this.deadline.cancel();
          this.removeSignals();
        }
      }
    });
  }

  /** Jobs received but never started (shutdown began): hand them back at once. */
  private async releaseBacklog(): Promise<void> {
    const waiting = this.backlog.splice(0);
    await Promise.all(
      waiting.map(async ({ job, onSettled }) => {
        const r = await nackWithRetry(this.transport, job.id, toJobError(new ShutdownError()), this.workerId, { attempts: 3, signal: this.hardAbort.signal });
        if (!r.ok) this.emit("job.settleFailed", { job, outcome: "nack", error: r.error });
        onSettled?.();
      }),
    );
  }

  private drainWaiters: Array<() => void> = [];
  private drained(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  private async execute(a: ActiveJob, pushed: boolean): Promise<void> {
    const { job } = a;
    // Received after the worker stopped fetching: hand it back at once rather than start it.
    if (this._state === "terminate" || this._state === "terminated") {
      a.settled = true;
      const r = await nackWithRetry(this.transport, job.id, toJobError(new ShutdownError()), this.workerId, { signal: this.hardAbort.signal });
      if (!r.ok) this.emit("job.settleFailed", { job, outcome: "nack", error: r.error });
      return;
    }
    this.emit("job.started", { job });
    // A pushed job counts as started on the server once it hears so; until then its expired lease costs no attempt.
    if (pushed && this.transport.started) this.transport.started({ jobId: job.id, workerId: this.workerId }).catch(() => undefined);
    let timeoutTimer: NodeJS.Timeout | undefined;
    if (job.timeout && job.timeout > 0) {
      timeoutTimer = setTimeout(() => this.abortJob(a, new JobTimeoutError(job.timeout!)), job.timeout);
    }
    let outcome: { ok: true; result: HandlerResult; sent: JsonValue | undefined } | { ok: false; error: unknown };
    try {
      const result = await this.invoke(a);
      outcome = { ok: true, result, sent: this.codecs ? await this.codecs.encodeResult(toResult(result)) : toResult(result) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearTimeout(timeoutTimer);
      clearTimeout(a.forceTimer);
    }
    // Already settled: cancelled, failed after an ignored abort, or failed at the end of the grace period.
    if (a.settled) return;
    a.settled = true;
    if (outcome.ok) {
      const r = await ackWithRetry(this.transport, job.id, outcome.sent, this.workerId, { signal: this.hardAbort.signal });
      if (r.ok) this.emit("job.completed", { job, result: outcome.result, durationMs: Date.now() - a.startedAt });
      // The server refused the result itself (over its maxResultBytes, say): the job fails for that
      // reason now, instead of coming back after its visibility timeout to fail the same way again.
      else if (r.error instanceof ValidationError) await this.fail(a, r.error);
      // An ack that never got through is not a failure of the job: it ran. The server
      // hands it out again after its visibility timeout; that is the only way it reruns.
      else this.emit("job.settleFailed", { job, outcome: "ack", error: r.error });
      return;
    }
    // A handler that stopped because its signal aborted failed for the abort's reason.
    const reason = a.abort.aborted ? a.abort.reason : undefined;
    await this.fail(a, reason instanceof Error ? reason : outcome.error);
  }

  /** Nacks a job (with retries on transient errors) and reports the outcome. Never throws. */
  private async fail(a: ActiveJob, error: unknown): Promise<void> {
    const r = await nackWithRetry(this.transport, a.job.id, toJobError(error), this.workerId, { signal: this.hardAbort.signal });
    if (r.ok) this.emit("job.failed", { job: a.job, error, durationMs: Date.now() - a.startedAt });
    else this.emit("job.settleFailed", { job: a.job, outcome: "nack", error: r.error });
  }

  /**
   * Aborts a running job's signal. A handler that honours it ends and the job
   * fails with the reason; one that ignores it is failed after abortGraceMs
   * anyway, but keeps its slot until it really returns.
   */
  private abortJob(a: ActiveJob, reason: Error): void {
    if (a.settled || a.abort.aborted) return;
    a.abort.abort(reason);
    a.forceTimer = setTimeout(() => {
      if (a.settled) return;
      a.settled = true;
      void this.fail(a, reason);
    }, this.opts.abortGraceMs);
  }

  private async invoke(a: ActiveJob, overrides?: Partial<JobContext<unknown>>, checkpointTransport?: Transport): Promise<HandlerResult> {
    // Decoded once, before middleware: a.job is what ctx.job and the job.* events show.
    if (this.codecs) a.job = await this.codecs.decodeJob(a.job);
    const { job } = a;
    const reg = this.handlers.get(job.type);
    if (!reg) {
      // Another worker in a mixed fleet may know this type: fail retryably, never discard.
      throw new HandlerNotFoundError(`no handler registered for job type "${job.type}" on worker ${this.workerId}`);
    }
    let args: unknown = job.args;
    if (reg.schema) {
      const parsed = reg.schema.safeParse(job.args);
      if (!parsed.success) {
        const msg = parsed.error.issues.map((i) => `args${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${i.message}`).join("; ");
        throw new NonRetryableError(`invalid args: ${msg}`, { code: "validation.args" });
      }
      args = parsed.data;
    }
    const ctx = overrides ? { ...this.context(a, args, reg.checkpoint, checkpointTransport), ...overrides } : this.context(a, args, reg.checkpoint);
    const handler = reg.handler;
    return this.chain!(ctx, async () => handler(ctx));
  }

  private context(a: ActiveJob, args: unknown, checkpointSchema: z.ZodType | undefined, checkpointTransport?: Transport): JobContext<unknown> {
    const { job } = a;
    const transport = this.transport;
    const workerId = this.workerId;
    const visibilityTimeoutMs = this.opts.visibilityTimeoutMs;
    let stateMap: Map<string, unknown> | undefined;
    let cp: AttemptCheckpoint | undefined;
    const checkpoints = () => (cp ??= new AttemptCheckpoint(checkpointTransport ?? transport, job, workerId, checkpointSchema));
    return {
      job,
      jobId: job.id,
      type: job.type,
      args,
      meta: job.meta,
      attempt: job.attempt,
      queue: job.queue,
      workerId,
      parentResults: job.parentResults ?? {},
      workflowId: job.workflowId,
      // Getters: the controller and the map exist only for handlers that use them.
      get signal() {
        return a.abort.signal;
      },
      get state() {
        return (stateMap ??= new Map());
      },
      progress: (value) => (a.progress ??= new ProgressReporter(transport, job.id)).report(value),
      checkpoint: (state) => checkpoints().save(state),
      lastCheckpoint: () => checkpoints().last() as Promise<JsonValue | undefined>,
      heartbeat: async () => {
        const r = await transport.heartbeat({ workerId, state: "running", activeJobIds: [job.id], visibilityTimeoutMs });
        if (r.lost?.includes(job.id)) this.loseJob(job.id);
      },
      abort: (reason?: unknown) => this.abortJob(a, reason instanceof Error ? reason : new JobAbortedError(reason === undefined ? "aborted by the handler" : String(reason))),
    };
  }
}

function compose(mws: readonly Middleware[]): (ctx: JobContext<unknown>, handler: () => Promise<HandlerResult>) => Promise<HandlerResult> {
  if (mws.length === 0) return (_ctx, handler) => handler();
  return (ctx, handler) => {
    const run = (i: number): Promise<HandlerResult> => {
      if (i === mws.length) return handler();
      let called = false;
      return mws[i]!(ctx, () => {
        if (called) return Promise.reject(new MiddlewareError("middleware called next() more than once"));
        called = true;
        return run(i + 1);
      });
    };
    return run(0);
  };
}

function toResult(r: HandlerResult): JsonValue | undefined {
  return r === undefined ? undefined : r;
}

function oneOf<T extends string>(v: T | undefined, allowed: readonly T[], dflt: T, name: string): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v)) throw new ValidationError(`${name}: must be ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(v)}`);
  return v;
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new ValidationError(`${name}: must be a positive number, got ${v}`);
  return v;
}

function nonNegative(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < 0) throw new ValidationError(`${name}: must be >= 0, got ${v}`);
  return v;
}

