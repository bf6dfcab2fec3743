/**
 * The consumer side of OJS. A Worker owns a set of slots (its concurrency),
 * gets jobs for free slots from a dispatcher (a gRPC StreamJobs stream, or
 * fetch polling), runs each through the middleware chain and its handler, and
 * settles it with exactly one ack or nack.
 *
 * Lifecycle: idle -> running <-> quiet -> terminate -> terminated.
 *
 * This file is the public face and the lifecycle (start, stop, drain,
 * directives); the parts live beside it: options.ts, slots.ts (running jobs and
 * the backlog), dispatch.ts (stream, watchdog, polling), execution.ts (handler,
 * middleware, context), settle.ts (ack/nack with retries), heartbeat.ts and
 * signals.ts.
 */
import type { z } from "zod";
import { resolveTransport } from "../transport/connection.js";
import { resolveLogger } from "../util/logger.js";
import { checkOptionKeys } from "../util/options.js";
import { attachWorkerLogger, WORKER_OPTION_KEYS } from "./log.js";
import type { CodecChain } from "../codec/payload/chain.js";
import { ValidationError } from "../model/errors.js";
import type { Job } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import { jobTypeSchema } from "../model/schemas.js";
import type { WorkerDirective } from "../model/system.js";
import type { Transport } from "../transport/transport.js";
import { Emitter } from "../util/emitter.js";
import { ShutdownError } from "./errors.js";
import { kRunJob, type RunJobOptions } from "./internal.js";
import { LazyAbort } from "../util/lazy-abort.js";
import { handBack, type SettleHost } from "./settle.js";
import { abandonedLine, HardDeadline } from "./hard-deadline.js";
import type { StallPolicy } from "./stall-policy.js";
import type { Handler, JobContext, Middleware, HandlerResult } from "./types.js";
import type { EmitWorkerEvent, WorkerEvents, WorkerState } from "./events.js";
import { resolveWorkerSettings, type ResolvedWorkerOptions, type WorkerOptions } from "./options.js";
import { JobSlots, newActiveJob } from "./slots.js";
import { Dispatcher } from "./dispatch.js";
import { abortReason, compose, JobExecution, type Registration } from "./execution.js";
import { Heartbeat } from "./heartbeat.js";
import { SignalTrap } from "./signals.js";

export type { WorkerOptions } from "./options.js";
export type { WorkerEvents, WorkerState } from "./events.js";

/** Longest wait, when stopping, for the server to hear that this worker stops before its job stream ends. */
const ANNOUNCE_TIMEOUT_MS = 1000;
/**
 * Longest wait, once the grace period is over, for acks and nacks already in flight: a server
 * that does not answer them (a held or half-open link) would otherwise hold stop() for their
 * timeouts and retries, minutes. Closing the transport then ends them; their jobs come back
 * through their leases, as before the slots freed at the handler's return.
 */
const SETTLES_AFTER_GRACE_MS = 1000;

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
  private readonly opts: ResolvedWorkerOptions;
  private readonly handlers = new Map<string, Registration>();
  private readonly middleware: Middleware[] = [];

  private _state: WorkerState = "idle";
  /** Aborts the dispatcher (stream or poll) when the worker stops fetching. */
  private fetchAbort = new AbortController();
  /** Aborts everything, including settle retries, when the stop is forced. */
  private readonly hardAbort = new AbortController();
  private stopPromise: Promise<void> | undefined;
  private runPromise: Promise<void> | undefined;
  private resolveRun: (() => void) | undefined;
  private readonly deadline = new HardDeadline(
    () => [...this.slots.active.values()].map((a) => a.job),
    (r) => {
      const report = { workerId: this.workerId, ...r };
      this.emit("abandoned", report); // the logger (attachWorkerLogger below) prints the line
    },
  );
  private dispatcherDone: Promise<void> = Promise.resolve();
  private readonly stallPolicy: StallPolicy | undefined;
  private readonly codecs: CodecChain | undefined;
  // The parts, each reaching the worker only through the few things it needs.
  private readonly slots: JobSlots;
  private readonly execution: JobExecution;
  private readonly dispatcher: Dispatcher;
  private readonly heartbeat: Heartbeat;
  private readonly signals: SignalTrap;
  private readonly settler: SettleHost;

  /**
   * Checks every option (an unknown key, a URL that is not http(s), a bad
   * number: ValidationError here, naming it) and builds the transport. Nothing
   * connects until start().
   */
  constructor(opts: WorkerOptions = {}) {
    super((error, event) => this.emit("error", { error, context: `listener of ${String(event)}` }));
    checkOptionKeys(opts, WORKER_OPTION_KEYS, "new Worker");
    const logger = resolveLogger(opts.logger, "new Worker");
    ({
      queues: this.queues,
      concurrency: this.concurrency,
      workerId: this.workerId,
      opts: this.opts,
      stallPolicy: this.stallPolicy,
      codecs: this.codecs,
    } = resolveWorkerSettings(opts));
    const { transport, owned, url } = resolveTransport(opts);
    this.transport = transport;
    this.ownsTransport = owned;

    const emit: EmitWorkerEvent = (event, payload) => this.emit(event, payload);
    const loseJob = (id: string) => this.slots.lose(id);
    this.settler = { transport, workerId: this.workerId, emit, hardSignal: this.hardAbort.signal, settleRetryMs: this.opts.settleRetryMs };
    this.execution = new JobExecution({
      ...this.settler,
      opts: this.opts,
      codecs: this.codecs,
      handlers: this.handlers,
      stopping: () => this._state === "terminate" || this._state === "terminated",
      loseJob,
    });
    this.slots = new JobSlots(
      this.concurrency,
      (a, pushed, gate) => this.execution.execute(a, pushed, gate),
      emit,
      () => {
        // The last abandoned handler returned after the shutdown: nothing left to force.
        if (this._state === "terminated") {
          this.deadline.cancel();
          this.signals.remove();
        }
      },
    );
    this.execution.gate = this.slots;
    this.dispatcher = new Dispatcher({
      transport,
      queues: this.queues,
      workerId: this.workerId,
      concurrency: this.concurrency,
      opts: this.opts,
      stallPolicy: this.stallPolicy,
      slots: this.slots,
      emit,
      fetching: () => this._state === "running" && !this.fetchAbort.signal.aborted,
      fetchSignal: () => this.fetchAbort.signal,
    });
    this.heartbeat = new Heartbeat({
      transport,
      workerId: this.workerId,
      opts: this.opts,
      emit,
      reportedState: () => (this._state === "quiet" ? "quiet" : this._state === "terminate" ? "terminate" : "running"),
      heldIds: () => this.slots.heldIds(),
      loseJob,
      applyDirective: (d) => this.applyDirective(d),
    });
    this.signals = new SignalTrap({ deadline: this.deadline, hardDeadlineMs: this.opts.hardDeadlineMs, hardAbort: this.hardAbort, stop: () => this.stop() });

    attachWorkerLogger(this, logger, `ojs-connect worker ${this.workerId}${url ? ` -> ${url}` : ""}`);
    this.on("abandoned", (r) => logger.error(abandonedLine(r)));
  }

  /** Where the worker is in its lifecycle. */
  get state(): WorkerState {
    return this._state;
  }

  /**
   * Number of jobs this worker holds right now: handlers running (at most
   * `concurrency`) and jobs whose ack or nack is not answered yet.
   */
  get activeCount(): number {
    return this.slots.active.size;
  }

  /** Ids of the jobs this worker holds right now (as counted by activeCount). */
  get activeJobIds(): string[] {
    return [...this.slots.active.keys()];
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
  register<S extends z.ZodType, C extends z.ZodType = z.ZodType<JsonValue>>(
    type: string,
    spec: { args: S; checkpoint?: C },
    handler: Handler<z.output<S>, z.output<C>>,
  ): this;
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
    this.execution.chain = compose(this.middleware);
    this._state = "running";
    this.runPromise = new Promise<void>((resolve) => (this.resolveRun = resolve));
    if (opts.signal) {
      if (opts.signal.aborted) void this.stop();
      else opts.signal.addEventListener("abort", () => void this.stop(), { once: true });
    }
    if (this.opts.handleSignals) this.signals.install();
    this.emit("started", { workerId: this.workerId });
    this.heartbeat.schedule();
    this.startDispatcher();
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
    if (this._state === "idle" || !this.execution.chain) this.execution.chain = compose(this.middleware);
    const abort = new LazyAbort();
    const { signal } = opts;
    if (signal) {
      if (signal.aborted) abort.abort(signal.reason);
      else signal.addEventListener("abort", () => abort.abort(signal.reason), { once: true });
    }
    const a = newActiveJob(job, abort);
    // No force-fail timer and no nack through this worker's transport: the caller settles the job.
    const overrides: Partial<JobContext<unknown>> = {
      progress: () => undefined,
      heartbeat: async () => undefined,
      abort: (reason?: unknown) => {
        abort.abort(abortReason(reason));
      },
      ...opts.context,
    };
    try {
      return await this.execution.invoke(a, overrides, opts.checkpointTransport);
    } catch (error) {
      const reason = abort.aborted ? abort.reason : undefined;
      throw reason instanceof Error ? reason : error;
    }
  }

  // --- lifecycle -------------------------------------------------------------------

  private startDispatcher(): void {
    this.dispatcherDone = this.dispatcher.run().catch((error) => this.emit("error", { error, context: "dispatcher" }));
  }

  private async shutdown(graceMs: number): Promise<void> {
    const { active } = this.slots;
    this.setState("terminate");
    this.emit("stopping", { workerId: this.workerId, active: active.size });
    // Say so before the job stream ends, listing the jobs that run (they count as started): a
    // server that knows (ojs-connect's) pushes nothing more, and once the stream has ended it puts
    // back at once what it pushed that this worker never started, such as jobs still on the wire.
    // Jobs that arrive meanwhile are handed back (execute). Bounded: a silent server costs a second.
    await this.heartbeat.send("terminate", undefined, ANNOUNCE_TIMEOUT_MS).catch(() => undefined);
    this.fetchAbort.abort();
    this.slots.wakeSlotWaiters();
    await this.dispatcherDone;
    // Jobs received but never started: hand them back at once.
    await Promise.all(
      this.slots.takeBacklog().map(async ({ job, onSettled }) => {
        await handBack(this.settler, job, { started: false, retryForMs: 300, signal: this.hardAbort.signal });
        onSettled?.();
      }),
    );
    const drained = this.slots.drained();
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
      const leftovers = [...active.values()].filter((a) => !a.settled);
      for (const a of leftovers) {
        a.settled = true;
        a.abort.abort(new ShutdownError());
      }
      await Promise.all(
        leftovers.map(async (a) => {
          if (await handBack(this.settler, a.job, { started: true, retryForMs: 100 }))
            this.emit("job.failed", { job: a.job, error: new ShutdownError(), durationMs: Date.now() - a.startedAt });
        }),
      );
      // Acks and nacks still in flight (or waiting for room) get a last moment to be answered
      // before the transport closes, so that a job its handler finished is not left to its lease
      // by the shutdown itself. Bounded: stop() must end soon after the grace period even when the
      // server never answers (their own retries would last minutes); a forced stop ends it at once.
      let settleTimer: NodeJS.Timeout | undefined;
      await Promise.race([this.slots.settlesAnswered(), new Promise<void>((resolve) => (settleTimer = setTimeout(resolve, SETTLES_AFTER_GRACE_MS))), hard]);
      clearTimeout(settleTimer);
    }
    this.heartbeat.stop();
    await this.heartbeat.inFlight;
    await this.heartbeat.send("terminate").catch(() => undefined);
    // Handlers that ignored their abort are abandoned; the signal handlers stay (a second
    // signal ends the process) until the last of them returns.
    if (active.size > 0) this.emit("abandoned", { workerId: this.workerId, jobs: [...active.values()].map((a) => a.job), reason: "grace_period" });
    else this.signals.remove();
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
      this.startDispatcher();
    }
  }

  /** Applies a server directive: quiet stops fetching, terminate stops the worker, running resumes from quiet. */
  private applyDirective(d: WorkerDirective): void {
    if (d === "terminate") void this.stop();
    else if (d === "quiet" && this._state === "running") this.setState("quiet");
    else if (d === "running" && this._state === "quiet") this.setState("running");
  }
}
