/**
 * Fake mode: a real Client whose transport serves the real ojs.v1 service in
 * process, over a ServerCore of its own on a virtual clock. Everything a
 * server does (ids, validation, unique jobs, state transitions, workflows,
 * queues, cron, dead letter) happens as it would in production, with no
 * socket, no real waiting and nothing shared with any other fake.
 */
import { Client, type BatchJob, type EnqueueMiddleware } from "../client/client.js";
import { toMillis, type Duration } from "../model/duration.js";
import { OjsError, TimeoutError, ValidationError } from "../model/errors.js";
import { TERMINAL_STATES, type EnqueueOptions, type Job, type JobRequest, type JobState } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { StepDefinition, Workflow, WorkflowDefinition } from "../model/workflow.js";
import { ServerCore } from "../server/core.js";
import type { SchemaValidationMode } from "../server/store/schemas.js";
import type { CallOptions, ProgressUpdate } from "../transport/transport.js";
import { toJobError } from "../worker/errors.js";
import type { Worker } from "../worker/worker.js";
import { describeExpectation, fail, inventory, listing, mismatches, plural, q, type JobExpectation, type JobMatch, type JobView } from "./assertions.js";
import { VirtualClock } from "./clock.js";
import { runHandler, workerIdOf, type HandlerMap, type Handlers } from "./executor.js";
import { InProcessTransport } from "./transport.js";

export interface FakeClientOptions {
  /** Runs jobs in drain(), perform() and inline mode with this Worker's handlers and middleware. */
  worker?: Worker;
  /** Or with these handlers (no middleware). */
  handlers?: HandlerMap;
  /**
   * Inline mode: every enqueue runs its job at once and resolves with the
   * finished job; the handler's error rejects the enqueue. No retries, and
   * delays are ignored. Needs `worker` or `handlers` (here or useHandlers()).
   */
  inline?: boolean;
  /** Where virtual time starts; default the wall clock at creation. */
  now?: Date | number | string;
  /** The in-process server's default reservation of a fetched job, in virtual ms; default 30 000. */
  visibilityTimeoutMs?: number;
  /** How enqueued args are checked against registered schemas; default "warn" (as the embedded server). */
  schemaValidation?: SchemaValidationMode;
  /**
   * Randomness for retry jitter, in [0, 1). Default 0.5, which makes jitter a
   * factor of exactly 1: retry delays are exactly what the policy computes.
   */
  random?: () => number;
}

export interface DrainOptions {
  /** Default: the worker or handlers given to createFakeClient(). */
  worker?: Worker;
  handlers?: HandlerMap;
  /** Only these queues; default every queue. Pass `worker.queues` to take only what that worker would. */
  queues?: string[];
  /** Stop after this many attempts; default no limit. */
  maxJobs?: number;
  /**
   * When nothing is available, move virtual time to the next delayed or
   * retrying job and go on, so that retries run as the policy says. Default true.
   */
  withScheduled?: boolean;
  /** Real time allowed for the whole drain, a hanging handler included; default 30 000 ms. */
  timeoutMs?: number;
}

/** How an attempt ended, as the server recorded it. */
export type RunOutcome =
  /** Acknowledged. */
  | "completed"
  /** Failed, with attempts left: scheduled for a retry. */
  | "retryable"
  /** Failed for good: no attempts left, a non-retryable error, or (inline, perform) no retries at all. */
  | "discarded"
  /**
   * The server no longer held the job when the attempt ended (it was
   * cancelled, cleared, or its reservation ran out because the handler moved
   * time past it), as a real worker's settle would fail.
   */
  | "settleFailed";

/** One attempt the fake ran. */
export interface PerformedJob {
  /** The job as the handler received it (state "active"). */
  job: Job;
  attempt: number;
  mode: "drain" | "inline" | "perform";
  outcome: RunOutcome;
  /** What the handler returned, when it completed. */
  result?: JsonValue;
  /** What the attempt failed with: the handler's error (or the abort reason it stopped on), or the injected failure. */
  error?: unknown;
  /** Why the ack or nack was refused, when outcome is "settleFailed". */
  settleError?: unknown;
  /** True when failNext()/failAll() failed this attempt; the handler was not called. */
  injected: boolean;
  /** Every ctx.progress() call, normalised, in order (the fake does not throttle them). */
  progress: ProgressUpdate[];
}

export interface DrainResult {
  /** Attempts run: a job that failed once and then completed counts twice. */
  processed: number;
  completed: number;
  /** Attempts that failed: retried + discarded (+ failed attempts whose settle failed). */
  failed: number;
  /** Failed attempts the policy will retry. */
  retried: number;
  /** Jobs that failed for good (discarded or dead-lettered). */
  discarded: number;
  settleFailed: number;
  /** Jobs still waiting in the drained queues when drain stopped (maxJobs, a paused queue, withScheduled: false). */
  remaining: number;
  /** Every attempt, in the order run. */
  runs: PerformedJob[];
}

export interface WorkflowExpectation {
  kind?: WorkflowDefinition["kind"];
  /** Steps of the workflow as the server holds it (nested steps and batch callbacks included). */
  stepCount?: number;
  /** Exactly this many such workflows; default at least one. */
  count?: number;
}

/** Filters for allEnqueued() and allPerformed(). */
export interface JobFilter {
  type?: string;
  queue?: string;
}

interface Failures {
  /** failNext() entries, consumed first, in order. */
  next: Array<{ error: unknown; remaining: number }>;
  /** failAll(): applies whenever no failNext() entry is left. */
  all?: { error: unknown };
}

const WAITING: ReadonlySet<JobState> = new Set(["available", "scheduled", "retryable", "pending"]);
let fakes = 0;

/**
 * A Client for tests: every call is served in process by a server of its own,
 * on virtual time. Pass it wherever your code takes a Client.
 *
 * ```ts
 * const ojs = createFakeClient({ worker });
 * await signUp(ojs, "ada@example.com");
 * ojs.assertEnqueued("email.send", { args: ["ada@example.com"] });
 * const r = await ojs.drain();            // runs it, and what it enqueues, retries included
 * ```
 */
export class FakeClient extends Client {
  /** The fake's time: moves only through advanceTime(), freezeTime() and drain(). */
  readonly clock: VirtualClock;
  private readonly core: ServerCore;
  private readonly local: InProcessTransport;
  private handlers: Handlers | undefined;
  private readonly inline: boolean;
  private readonly workerId: string;
  private readonly userMiddleware: EnqueueMiddleware[] = [];
  private readonly stopRecording: () => void;
  private enqueued: string[] = [];
  /** Every recorded job before this index is finished (or gone): drain() starts its scans here. */
  private waitingFrom = 0;
  private performed: PerformedJob[] = [];
  private created: Array<{ id: string; name: string; kind: WorkflowDefinition["kind"] }> = [];
  private failures = new Map<string, Failures>();
  private isClosed = false;

  constructor(opts: FakeClientOptions = {}) {
    if (opts.worker && opts.handlers) throw new ValidationError("createFakeClient: pass either worker or handlers, not both");
    const handlers = opts.worker ?? opts.handlers;
    const clock = new VirtualClock(opts.now);
    const core = new ServerCore({
      clock,
      random: opts.random ?? (() => 0.5),
      ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
      ...(opts.schemaValidation !== undefined ? { schemaValidation: opts.schemaValidation } : {}),
    });
    const local = new InProcessTransport(core);
    super({ transport: local });
    this.clock = clock;
    this.core = core;
    this.local = local;
    this.handlers = handlers;
    this.inline = opts.inline ?? false;
    this.workerId = `ojs-fake-${process.pid}-${++fakes}`;
    // Every job the server creates, however (enqueue, batch, workflow step, cron run, a handler's enqueue), in order.
    this.stopRecording = core.store.events.subscribe((e) => {
      if (e.type === "job.enqueued" && e.jobId) this.enqueued.push(e.jobId);
      // A dead-letter retry is the one way out of a terminal state.
      else if (e.type === "job.retried") this.waitingFrom = 0;
    });
    // One outer middleware runs the user's chain exactly as Client would, then
    // measures `delay` on the virtual clock (Client folds it with Date.now()).
    super.useEnqueueMiddleware((request, next) => {
      const run = async (i: number, r: JobRequest): Promise<JobRequest | null> =>
        i === this.userMiddleware.length ? next(this.onVirtualTime(r)) : await this.userMiddleware[i]!(r, (n) => run(i + 1, n));
      return run(0, request);
    });
  }

  /**
   * Sets what runs jobs (drain, inline mode, perform) after creation: handlers
   * usually need the client they enqueue with, so the client comes first.
   *
   * ```ts
   * const ojs = createFakeClient({ inline: true });
   * ojs.useHandlers(createWorker(ojs));
   * ```
   */
  useHandlers(handlers: Worker | HandlerMap): this {
    this.handlers = handlers;
    return this;
  }

  /** Adds enqueue middleware; it runs in fake and inline mode exactly as in production. */
  override useEnqueueMiddleware(mw: EnqueueMiddleware): this {
    this.userMiddleware.push(mw);
    return this;
  }

  // --- producing ------------------------------------------------------------------------------

  /** As Client.enqueue. Inline mode: also runs the job, resolves with it finished, and rejects with the handler's error. */
  override async enqueue<A extends JsonValue[]>(type: string, args: A, options: EnqueueOptions = {}, call?: CallOptions): Promise<Job<A>> {
    if (this.inline) this.requireHandlers(undefined, "inline mode");
    const job = await super.enqueue(type, args, options, call);
    if (!this.inline) return job;
    await this.runNow(job, "inline");
    return (await this.getJob(job.id)) as Job<A>;
  }

  /** As Client.enqueueBatch. Inline mode: then runs the jobs in order; the first handler error rejects, leaving the rest unrun. */
  override async enqueueBatch(jobs: BatchJob[], call?: CallOptions): Promise<Job[]> {
    if (this.inline) this.requireHandlers(undefined, "inline mode");
    const out = await super.enqueueBatch(jobs, call);
    if (!this.inline) return out;
    const done: Job[] = [];
    for (const job of out) {
      await this.runNow(job, "inline");
      done.push(await this.getJob(job.id));
    }
    return done;
  }

  /** As Client.workflow; step delays are measured on the virtual clock. Steps run when drained. */
  override async workflow(def: WorkflowDefinition, call?: CallOptions): Promise<Workflow> {
    const wf = await super.workflow(this.workflowOnVirtualTime(def), call);
    this.created.push({ id: wf.id, name: wf.name || def.name, kind: def.kind });
    return wf;
  }

  /**
   * Enqueues the job (middleware included) and runs it at once, once: its
   * result, or its handler's error thrown. No retry whatever the policy, and
   * no delay.
   */
  async perform(type: string, args: JsonValue[], options: EnqueueOptions = {}): Promise<JsonValue | undefined> {
    this.requireHandlers(undefined, "perform()");
    const { delay: _d, scheduledAt: _s, ...now } = options;
    const job = await super.enqueue(type, args, now);
    const run = await this.runNow(job, "perform");
    if (!run) throw new ValidationError(`perform(): job ${job.id} could not be taken (it is ${job.state}; is its queue ${q(job.queue)} paused?)`);
    return run.result;
  }

  // --- time -------------------------------------------------------------------------------------

  /** The fake's current time. */
  now(): Date {
    return new Date(this.clock.now());
  }

  /**
   * Moves virtual time forward (ms or ISO 8601, "PT5M"): delayed and retrying
   * jobs fall due, reservations and execution timeouts run out, cron runs fire.
   */
  advanceTime(by: Duration): Date {
    return this.clock.advance(by);
  }

  /** Sets virtual time to an instant (forward: what falls due on the way fires). Time never moves by itself. */
  freezeTime(at: Date | number | string): Date {
    return this.clock.set(at);
  }

  // --- running jobs -----------------------------------------------------------------------------

  /**
   * The next run of a job of this type fails with `error` instead of calling
   * the handler; `times` runs in a row. Calls add up, in order.
   */
  failNext(type: string, error: unknown = new Error(`injected failure of ${type} (failNext)`), times = 1): this {
    if (!Number.isInteger(times) || times < 1) throw new ValidationError(`failNext: times must be a positive integer, got ${times}`);
    this.failuresOf(type).next.push({ error, remaining: times });
    return this;
  }

  /** Every run of a job of this type fails with `error` (after any failNext() ones) until clear(); a new call replaces the error. */
  failAll(type: string, error: unknown = new Error(`injected failure of ${type} (failAll)`)): this {
    this.failuresOf(type).all = { error };
    return this;
  }

  /**
   * Runs what is waiting, one job at a time in the order enqueued, through the
   * worker's middleware and handlers, acknowledging or failing each as a worker
   * would; jobs the handlers enqueue are run too. With `withScheduled` (the
   * default) virtual time moves to each delayed or retrying job in turn, so
   * retries run as the policy says. Resolves with counts and every attempt.
   */
  async drain(opts: DrainOptions = {}): Promise<DrainResult> {
    const handlers = this.requireHandlers(opts, "drain()");
    const filter = opts.queues ? new Set(opts.queues) : undefined;
    const maxJobs = opts.maxJobs ?? Infinity;
    const withScheduled = opts.withScheduled ?? true;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const r: DrainResult = { processed: 0, completed: 0, failed: 0, retried: 0, discarded: 0, settleFailed: 0, remaining: 0, runs: [] };
    while (r.processed < maxJobs) {
      this.checkOpen();
      if (Date.now() > deadline) throw drainTimeout(timeoutMs, r, undefined);
      const order = this.readyQueues(filter);
      const [job] = order.length ? await this.transport.fetch({ queues: order, count: 1, workerId: workerIdOf(handlers, this.workerId) }) : [];
      if (!job) {
        if (!withScheduled) break;
        const due = this.nextDue(filter);
        // Nothing delayed, or something due that still cannot be taken (a paused queue): done.
        if (due === undefined || due <= this.clock.now()) break;
        this.clock.set(due);
        continue;
      }
      const { run, handlerOk } = await this.attempt(handlers, job, "drain", { deadline, timeoutMs, result: r });
      r.runs.push(run);
      r.processed++;
      if (!handlerOk) r.failed++;
      if (run.outcome === "completed") r.completed++;
      else if (run.outcome === "retryable") r.retried++;
      else if (run.outcome === "discarded") r.discarded++;
      else r.settleFailed++;
    }
    for (const j of this.unfinishedJobs()) if (WAITING.has(j.state) && (!filter || filter.has(j.queue))) r.remaining++;
    return r;
  }

  // --- what happened ----------------------------------------------------------------------------

  /** Every job created so far, in order, as it is now (whatever its state): enqueued, batch, workflow steps, cron runs. */
  allEnqueued(filter: JobFilter = {}): Job[] {
    return this.liveJobs().filter((j) => (filter.type === undefined || j.type === filter.type) && (filter.queue === undefined || j.queue === filter.queue));
  }

  /** Every attempt run (drain, inline, perform), in order. */
  allPerformed(filter: JobFilter = {}): PerformedJob[] {
    return this.performed.filter((p) => (filter.type === undefined || p.job.type === filter.type) && (filter.queue === undefined || p.job.queue === filter.queue));
  }

  /** Workflows created through this client, in order, as they are now. */
  allWorkflows(): Workflow[] {
    return this.created.flatMap((c) => {
      try {
        return [this.core.store.workflows.get(c.id)];
      } catch {
        return [];
      }
    });
  }

  /** Forgets everything: jobs, queues, workflows, cron schedules, schemas, attempts and injected failures. Time stays where it is. */
  clear(): void {
    this.core.reset();
    this.enqueued = [];
    this.waitingFrom = 0;
    this.performed = [];
    this.created = [];
    this.failures.clear();
  }

  // --- assertions (node:assert AssertionError, so any test runner reports them) ------------------

  /** A job of this type (with these args, queue, meta) was enqueued; with `count`, exactly that many. */
  assertEnqueued(type: string, expected: JobExpectation = {}): void {
    expectJobs(this.allEnqueued(), "enqueued", type, expected, undefined, this.assertEnqueued);
  }

  /** No job of this type (with these args, queue, meta) was enqueued. */
  refuteEnqueued(type: string, match: JobMatch = {}): void {
    refuteJobs(this.allEnqueued(), "enqueued", type, match, this.refuteEnqueued);
  }

  /** A job of this type was run; with `count`, exactly that many attempts (a retried job counts once per attempt). */
  assertPerformed(type: string, expected: JobExpectation = {}): void {
    expectJobs(this.performedViews(), "performed", type, expected, undefined, this.assertPerformed);
  }

  /** No job of this type (with these args, queue, meta) was run. */
  refutePerformed(type: string, match: JobMatch = {}): void {
    refuteJobs(this.performedViews(), "performed", type, match, this.refutePerformed);
  }

  /** A job of this type is completed now. */
  assertCompleted(type: string, expected: JobExpectation = {}): void {
    expectJobs(this.allEnqueued(), "enqueued", type, expected, ["completed"], this.assertCompleted);
  }

  /** A job of this type failed: it is retryable (waiting for its retry) or discarded now. */
  assertFailed(type: string, expected: JobExpectation = {}): void {
    expectJobs(this.allEnqueued(), "enqueued", type, expected, ["retryable", "discarded"], this.assertFailed);
  }

  /** The job is in this state now. */
  assertJobState(id: string, state: JobState): void {
    const job = this.core.store.has(id) ? this.core.store.get(id).job : undefined;
    if (!job) fail(`Expected job ${id} to be ${state}, but the fake has no such job.`, this.assertJobState);
    if (job.state === state) return;
    const last = job.errors.at(-1);
    const why = last ? ` (last error: ${last.code}: ${last.message})` : "";
    fail(`Expected job ${id} (${job.type}) to be ${state}, but it is ${job.state}${why}.`, this.assertJobState, { actual: job.state, expected: state, operator: "strictEqual" });
  }

  /** A workflow with this name was created through this client. */
  assertWorkflowCreated(name: string, expected: WorkflowExpectation = {}): void {
    const all = this.created.map((c) => ({ ...c, steps: this.stepCount(c.id) }));
    const why = (w: (typeof all)[number]): string[] => {
      if (w.name !== name) return [`name is ${q(w.name)}`];
      const out: string[] = [];
      if (expected.kind !== undefined && w.kind !== expected.kind) out.push(`kind is ${w.kind}, not ${expected.kind}`);
      if (expected.stepCount !== undefined && w.steps !== expected.stepCount) out.push(`it has ${plural(w.steps, "step")}, not ${expected.stepCount}`);
      return out;
    };
    const matching = all.filter((w) => why(w).length === 0);
    if (expected.count === undefined ? matching.length > 0 : matching.length === expected.count) return;
    let want = `${q(name)} workflow`;
    if (expected.kind) want += ` of kind ${expected.kind}`;
    if (expected.stepCount !== undefined) want += ` with ${plural(expected.stepCount, "step")}`;
    const head = expected.count === undefined ? `Expected a ${want} to be created, but none matched.` : `Expected exactly ${expected.count} × ${want} to be created, found ${matching.length}.`;
    const list = all.length ? `Workflows created (${all.length}):\n${all.map((w) => `  - ${q(w.name)} ${w.kind}, ${plural(w.steps, "step")} [${w.id}]${why(w).length ? `: ${why(w).join("; ")}` : ": matches"}`).join("\n")}` : "No workflow was created.";
    fail(`${head}\n${list}`, this.assertWorkflowCreated);
  }

  // --- lifecycle --------------------------------------------------------------------------------

  /** Stops the fake: its server, clock and transport. Nothing it scheduled runs afterwards. Idempotent. */
  override async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await super.close();
    this.stopRecording();
    this.core.close();
    this.clock.dispose();
    await this.local.close();
  }

  // --- internals --------------------------------------------------------------------------------

  private onVirtualTime(r: JobRequest): JobRequest {
    const o = r.options ?? {};
    if (this.inline) {
      // Inline mode runs every job now (TST §5.2): no delay, no schedule.
      if (o.delay === undefined && o.scheduledAt === undefined) return r;
      const { delay: _d, scheduledAt: _s, ...rest } = o;
      return { ...r, options: rest };
    }
    return { ...r, options: delayOnClock(o, this.clock.now()) };
  }

  private workflowOnVirtualTime(def: WorkflowDefinition): WorkflowDefinition {
    const now = this.clock.now();
    const step = (s: StepDefinition): StepDefinition => (s.options ? { ...s, options: delayOnClock(s.options, now) } : s);
    const walk = (d: WorkflowDefinition): WorkflowDefinition => {
      const steps = d.steps.map((s) => ("kind" in s ? walk(s) : step(s)));
      if (d.kind !== "batch") return { ...d, steps };
      const cb = d.callbacks;
      const callbacks: typeof cb = {};
      if (cb.onComplete) callbacks.onComplete = step(cb.onComplete);
      if (cb.onSuccess) callbacks.onSuccess = step(cb.onSuccess);
      if (cb.onFailure) callbacks.onFailure = step(cb.onFailure);
      return { ...d, steps, callbacks };
    };
    // Malformed input is left for Client.workflow to reject with its usual message.
    return def && Array.isArray(def.steps) ? walk(def) : def;
  }

  private requireHandlers(opts: { worker?: Worker; handlers?: HandlerMap } | undefined, what: string): Handlers {
    if (opts?.worker && opts.handlers) throw new ValidationError(`${what}: pass either worker or handlers, not both`);
    const h = opts?.worker ?? opts?.handlers ?? this.handlers;
    if (!h) throw new ValidationError(`${what} needs handlers to run jobs with: pass { worker } or { handlers } to createFakeClient()${opts ? " or here" : ""}, or call useHandlers()`);
    return h;
  }

  private failuresOf(type: string): Failures {
    let f = this.failures.get(type);
    if (!f) this.failures.set(type, (f = { next: [] }));
    return f;
  }

  private takeFailure(type: string): { error: unknown } | undefined {
    const f = this.failures.get(type);
    const first = f?.next[0];
    if (first) {
      if (--first.remaining <= 0) f.next.shift();
      return first;
    }
    return f?.all;
  }

  /** Recorded jobs still held by the server, as copies (tests must not change the server's state by accident). */
  private liveJobs(): Job[] {
    return [...this.storeJobs()].map((j) => structuredClone(j));
  }

  /** The server's own job objects, read only, without copying. */
  private *storeJobs(): Generator<Readonly<Job>> {
    const store = this.core.store;
    for (const id of this.enqueued) if (store.has(id)) yield store.get(id).job;
  }

  /**
   * The recorded jobs that may still be waiting, from the first unfinished one
   * on: drain() scans them at every step, so finished jobs at the front are
   * skipped for good.
   */
  private *unfinishedJobs(): Generator<Readonly<Job>> {
    const store = this.core.store;
    store.tick();
    for (let i = this.waitingFrom; i < this.enqueued.length; i++) {
      const id = this.enqueued[i]!;
      const job = store.has(id) ? store.get(id).job : undefined;
      if (i === this.waitingFrom && (!job || TERMINAL_STATES.has(job.state))) {
        this.waitingFrom++;
        continue;
      }
      if (job) yield job;
    }
  }

  /** Queues with an available job, in the order their first available job was enqueued: FIFO across queues. */
  private readyQueues(filter: Set<string> | undefined): string[] {
    const out: string[] = [];
    for (const j of this.unfinishedJobs()) if (j.state === "available" && (!filter || filter.has(j.queue)) && !out.includes(j.queue)) out.push(j.queue);
    return out;
  }

  /** The earliest instant a delayed or retrying job falls due. */
  private nextDue(filter: Set<string> | undefined): number | undefined {
    let next: number | undefined;
    for (const j of this.unfinishedJobs()) {
      if ((j.state !== "scheduled" && j.state !== "retryable") || !j.scheduledAt || (filter && !filter.has(j.queue))) continue;
      const at = j.scheduledAt.getTime();
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** Takes exactly this job from its queue (others taken on the way are handed back untouched) and runs it once, without retries. */
  private async runNow(job: Job, mode: "inline" | "perform"): Promise<PerformedJob | undefined> {
    const handlers = this.requireHandlers(undefined, mode === "inline" ? "inline mode" : "perform()");
    if (job.state !== "available") return undefined;
    const workerId = workerIdOf(handlers, this.workerId);
    const held: Job[] = [];
    let mine: Job | undefined;
    try {
      for (;;) {
        const [next] = await this.transport.fetch({ queues: [job.queue], count: 1, workerId });
        if (!next || next.id === job.id) {
          mine = next;
          break;
        }
        held.push(next);
      }
    } finally {
      for (const h of held) if (this.core.store.has(h.id)) this.core.store.release(this.core.store.get(h.id));
    }
    if (!mine) return undefined;
    const { run, handlerOk } = await this.attempt(handlers, mine, mode);
    if (!handlerOk) throw run.error;
    if (run.outcome !== "completed") throw run.settleError;
    return run;
  }

  private async attempt(
    handlers: Handlers,
    job: Job,
    mode: PerformedJob["mode"],
    limit?: { deadline: number; timeoutMs: number; result: DrainResult },
  ): Promise<{ run: PerformedJob; handlerOk: boolean }> {
    const workerId = workerIdOf(handlers, this.workerId);
    const progress: ProgressUpdate[] = [];
    const failure = this.takeFailure(job.type);
    let outcome: { ok: true; result: JsonValue | undefined } | { ok: false; error: unknown };
    if (failure) outcome = { ok: false, error: failure.error };
    else {
      const abort = new AbortController();
      const running = runHandler(handlers, job, {
        signal: abort.signal,
        workerId,
        progress: (update) => {
          progress.push(update);
          // Progress never fails a job, here as in a worker.
          this.transport.reportProgress(job.id, update).catch(() => undefined);
        },
        heartbeat: async () => {
          await this.transport.heartbeat({ workerId, state: "running", activeJobIds: [job.id] });
        },
        transport: this.transport,
      });
      try {
        const result = limit ? await beforeDeadline(running, limit.deadline, abort, () => drainTimeout(limit.timeoutMs, limit.result, job)) : await running;
        outcome = { ok: true, result: result === undefined ? undefined : (result as JsonValue) };
      } catch (error) {
        if (error instanceof DrainTimeout) throw error.timeout;
        outcome = { ok: false, error };
      }
    }
    const run: PerformedJob = { job, attempt: job.attempt, mode, outcome: "completed", injected: failure !== undefined, progress };
    if (!outcome.ok) run.error = outcome.error;
    try {
      if (outcome.ok) {
        await this.transport.ack(outcome.result === undefined ? { jobId: job.id, workerId } : { jobId: job.id, result: outcome.result, workerId });
        if (outcome.result !== undefined) run.result = outcome.result;
      } else {
        const error = toJobError(outcome.error);
        // Inline and perform run a job once (TST §5.2): a failure is final.
        if (mode !== "drain") error.retryable = false;
        const r = await this.transport.nack({ jobId: job.id, error, workerId });
        run.outcome = r.state === "discarded" ? "discarded" : "retryable";
      }
    } catch (settleError) {
      // Only "the server no longer holds this job for us" is an outcome; anything else is a fault of the fake itself.
      if (!(settleError instanceof OjsError) || (settleError.code !== "conflict" && settleError.code !== "invalid_state" && settleError.code !== "not_found")) throw settleError;
      run.outcome = "settleFailed";
      run.settleError = settleError;
      if (outcome.ok && outcome.result !== undefined) run.result = outcome.result;
    }
    this.performed.push(run);
    return { run, handlerOk: outcome.ok };
  }

  private performedViews(): JobView[] {
    return this.performed.map((p) => ({ ...p.job, state: `attempt ${p.attempt}: ${p.outcome}` }));
  }

  private stepCount(workflowId: string): number {
    try {
      return this.core.store.workflows.get(workflowId).steps.length;
    } catch {
      return 0;
    }
  }

  private checkOpen(): void {
    if (this.isClosed) throw new OjsError("the fake client is closed", { code: "unavailable" });
  }
}

type StackStart = (...args: never[]) => unknown;

function expectJobs(jobs: readonly JobView[], noun: string, type: string, expected: JobExpectation, states: readonly string[] | undefined, stackStart: StackStart): void {
  const match: JobMatch = {};
  if (expected.args !== undefined) match.args = expected.args;
  if (expected.queue !== undefined) match.queue = expected.queue;
  if (expected.meta !== undefined) match.meta = expected.meta;
  const why = (j: JobView): string[] => {
    const out = mismatches(j, type, match);
    if (out.length === 0 && states && !states.includes(j.state)) out.push(`it is ${j.state}`);
    return out;
  };
  const n = jobs.filter((j) => why(j).length === 0).length;
  if (expected.count === undefined ? n > 0 : n === expected.count) return;
  const what = states ? states.join(" or ") : noun;
  const head =
    expected.count === undefined
      ? `Expected a ${describeExpectation(type, match)} to be ${what}, but none was.`
      : `Expected exactly ${expected.count} ${describeExpectation(type, match, expected.count !== 1)} to be ${what}, found ${n}.`;
  fail(`${head}\n${inventory(noun, jobs, type, why)}`, stackStart, expected.count === undefined ? undefined : { actual: n, expected: expected.count, operator: "strictEqual" });
}

function refuteJobs(jobs: readonly JobView[], noun: string, type: string, match: JobMatch, stackStart: StackStart): void {
  const found = jobs.filter((j) => mismatches(j, type, match).length === 0);
  if (found.length === 0) return;
  fail(`Expected no ${describeExpectation(type, match)} to be ${noun}, but found ${found.length}:\n${listing(found)}`, stackStart);
}

/** Makes a fake Client: see FakeClient. Each one is independent of every other. */
export function createFakeClient(opts: FakeClientOptions = {}): FakeClient {
  return new FakeClient(opts);
}

/** `delay` measured from the virtual clock's now instead of Date.now(); anything invalid is left for validation to report. */
function delayOnClock(o: EnqueueOptions, now: number): EnqueueOptions {
  if (o.delay === undefined || o.scheduledAt !== undefined) return o;
  const ms = toMillis(o.delay);
  if (ms === undefined) return o;
  const { delay: _d, ...rest } = o;
  return { ...rest, scheduledAt: new Date(now + ms) };
}

class DrainTimeout extends Error {
  constructor(readonly timeout: TimeoutError) {
    super(timeout.message);
  }
}

function drainTimeout(timeoutMs: number, r: DrainResult, running: Job | undefined): TimeoutError {
  const still = running ? `; job ${running.id} (${running.type}) was still running` : "";
  return new TimeoutError(`drain() did not finish within ${timeoutMs} ms (real time): ${plural(r.processed, "attempt")} run${still}`, { operation: "drain" });
}

/** The handler's outcome, unless the deadline comes first: then its signal aborts and a DrainTimeout is thrown. */
async function beforeDeadline<T>(p: Promise<T>, deadline: number, abort: AbortController, timeout: () => TimeoutError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = timeout();
      abort.abort(e);
      reject(new DrainTimeout(e));
    }, Math.max(0, deadline - Date.now()));
    timer.unref();
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

