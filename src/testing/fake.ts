/**
 * Fake mode: a real Client whose transport serves the real ojs.v1 service in
 * process, over a ServerCore of its own on a virtual clock. Everything a
 * server does (ids, validation, unique jobs, state transitions, workflows,
 * queues, cron, dead letter) happens as it would in production, with no
 * socket, no real waiting and nothing shared with any other fake.
 */
import { Client, type BatchJob, type EnqueueMiddleware } from "../client/client.js";
import type { Duration } from "../model/duration.js";
import { OjsError, ValidationError } from "../model/errors.js";
import type { EnqueueOptions, Job, JobRequest, JobState } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { Workflow, WorkflowDefinition } from "../model/workflow.js";
import { ServerCore } from "../server/core.js";
import type { CallOptions, ProgressUpdate } from "../transport/transport.js";
import { toJobError } from "../worker/errors.js";
import type { Worker } from "../worker/worker.js";
import { fail, plural, q, type JobExpectation, type JobMatch, type JobView } from "./assertions.js";
import { VirtualClock } from "./clock.js";
import { runHandler, workerIdOf, type HandlerMap, type Handlers } from "./executor.js";
import { InProcessTransport } from "./transport.js";
import { CodecChain } from "../codec/payload/chain.js";
import type { DrainOptions, DrainResult, FakeClientOptions, JobFilter, PerformedJob, WorkflowExpectation } from "./fake-options.js";
import { InjectedFailures } from "./failure-injection.js";
import { RecordedJobs } from "./recorded-jobs.js";
import { expectJobs, refuteJobs } from "./fake-expect.js";
import { requestOnVirtualTime, workflowOnVirtualTime } from "./fake-virtual-time.js";
import { beforeDeadline, DrainTimeout, drainTimeout } from "./drain-deadline.js";

export type { DrainOptions, DrainResult, FakeClientOptions, JobFilter, PerformedJob, RunOutcome, WorkflowExpectation } from "./fake-options.js";

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
  /** Every job the server created, in order. */
  private readonly recorded: RecordedJobs;
  private performed: PerformedJob[] = [];
  private created: Array<{ id: string; name: string; kind: WorkflowDefinition["kind"] }> = [];
  private readonly failures = new InjectedFailures();
  private isClosed = false;
  private readonly codecChain: CodecChain | undefined;

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
    super({ transport: local, ...(opts.codecs ? { codecs: opts.codecs } : {}) });
    this.clock = clock;
    this.core = core;
    this.recorded = new RecordedJobs(core);
    this.local = local;
    this.handlers = handlers;
    this.inline = opts.inline ?? false;
    this.codecChain = opts.codecs?.length ? new CodecChain(opts.codecs) : undefined;
    this.workerId = `ojs-fake-${process.pid}-${++fakes}`;
    // Every job the server creates, however (enqueue, batch, workflow step, cron run, a handler's enqueue), in order.
    this.stopRecording = core.store.events.subscribe((e) => {
      if (e.type === "job.enqueued" && e.jobId) this.recorded.add(e.jobId);
      // A dead-letter retry is the one way out of a terminal state.
      else if (e.type === "job.retried") this.recorded.rescan();
    });
    // One outer middleware runs the user's chain exactly as Client would, then
    // measures `delay` on the virtual clock (Client folds it with Date.now()).
    super.useEnqueueMiddleware((request, next) => {
      const run = async (i: number, r: JobRequest): Promise<JobRequest | null> =>
        i === this.userMiddleware.length
          ? next(requestOnVirtualTime(r, this.inline, this.clock.now()))
          : await this.userMiddleware[i]!(r, (n) => run(i + 1, n));
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
    return (await this.decodeJob(await this.getJob(job.id))) as Job<A>;
  }

  /** As Client.enqueueBatch. Inline mode: then runs the jobs in order; the first handler error rejects, leaving the rest unrun. */
  override async enqueueBatch(jobs: BatchJob[], call?: CallOptions): Promise<Job[]> {
    if (this.inline) this.requireHandlers(undefined, "inline mode");
    const out = await super.enqueueBatch(jobs, call);
    if (!this.inline) return out;
    const done: Job[] = [];
    for (const job of out) {
      await this.runNow(job, "inline");
      done.push(await this.decodeJob(await this.getJob(job.id)));
    }
    return done;
  }

  /** As Client.workflow; step delays are measured on the virtual clock. Steps run when drained. */
  override async workflow(def: WorkflowDefinition, call?: CallOptions): Promise<Workflow> {
    const wf = await super.workflow(workflowOnVirtualTime(def, this.clock.now()), call);
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
    this.failures.failNext(type, error, times);
    return this;
  }

  /** Every run of a job of this type fails with `error` (after any failNext() ones) until clear(); a new call replaces the error. */
  failAll(type: string, error: unknown = new Error(`injected failure of ${type} (failAll)`)): this {
    this.failures.failAll(type, error);
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
      const order = this.recorded.readyQueues(filter);
      const [job] = order.length ? await this.transport.fetch({ queues: order, count: 1, workerId: workerIdOf(handlers, this.workerId) }) : [];
      if (!job) {
        if (!withScheduled) break;
        const due = this.recorded.nextDue(filter);
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
    r.remaining = this.recorded.waiting(filter);
    return r;
  }

  // --- what happened ----------------------------------------------------------------------------

  /** Every job created so far, in order, as it is now (whatever its state): enqueued, batch, workflow steps, cron runs. */
  allEnqueued(filter: JobFilter = {}): Job[] {
    return this.recorded
      .live()
      .filter((j) => (filter.type === undefined || j.type === filter.type) && (filter.queue === undefined || j.queue === filter.queue));
  }

  /** Every attempt run (drain, inline, perform), in order. */
  allPerformed(filter: JobFilter = {}): PerformedJob[] {
    return this.performed.filter(
      (p) => (filter.type === undefined || p.job.type === filter.type) && (filter.queue === undefined || p.job.queue === filter.queue),
    );
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
    this.recorded.clear();
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
    fail(`Expected job ${id} (${job.type}) to be ${state}, but it is ${job.state}${why}.`, this.assertJobState, {
      actual: job.state,
      expected: state,
      operator: "strictEqual",
    });
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
    const head =
      expected.count === undefined
        ? `Expected a ${want} to be created, but none matched.`
        : `Expected exactly ${expected.count} × ${want} to be created, found ${matching.length}.`;
    const list = all.length
      ? `Workflows created (${all.length}):\n${all.map((w) => `  - ${q(w.name)} ${w.kind}, ${plural(w.steps, "step")} [${w.id}]${why(w).length ? `: ${why(w).join("; ")}` : ": matches"}`).join("\n")}`
      : "No workflow was created.";
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

  private requireHandlers(opts: { worker?: Worker; handlers?: HandlerMap } | undefined, what: string): Handlers {
    if (opts?.worker && opts.handlers) throw new ValidationError(`${what}: pass either worker or handlers, not both`);
    const h = opts?.worker ?? opts?.handlers ?? this.handlers;
    if (!h)
      throw new ValidationError(
        `${what} needs handlers to run jobs with: pass { worker } or { handlers } to createFakeClient()${opts ? " or here" : ""}, or call useHandlers()`,
      );
    return h;
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
    const failure = this.failures.take(job.type);
    let outcome: { ok: true; result: JsonValue | undefined } | { ok: false; error: unknown };
    // Decoded as a Worker decodes: a job that cannot be decoded fails with the CodecError.
    let undecodable: unknown;
    if (this.codecChain) job = await this.codecChain.decodeJob(job).catch((e: unknown) => ((undecodable = e), job));
    if (failure) outcome = { ok: false, error: failure.error };
    else if (undecodable !== undefined) outcome = { ok: false, error: undecodable };
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
        const sent = this.codecChain ? await this.codecChain.encodeResult(outcome.result) : outcome.result;
        await this.transport.ack(sent === undefined ? { jobId: job.id, workerId } : { jobId: job.id, result: sent, workerId });
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
      if (!(settleError instanceof OjsError) || (settleError.code !== "conflict" && settleError.code !== "invalid_state" && settleError.code !== "not_found"))
        throw settleError;
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

/** Makes a fake Client: see FakeClient. Each one is independent of every other. */
export function createFakeClient(opts: FakeClientOptions = {}): FakeClient {
  return new FakeClient(opts);
}
