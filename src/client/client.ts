import { ConnectionError, OjsError, ValidationError } from "../model/errors.js";
import type { OjsEvent } from "../model/events.js";
import type { EnqueueOptions, Job, JobRequest, NormalizedJobRequest } from "../model/job.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import { checkBatchSize, checkJobRequest, jsonBytes, limitError, resolveLimits, type Limits } from "../model/limits.js";
import { normalizeJobRequest, parseOrThrow, queueNameSchema, jobTypeSchema, validateJobRequest } from "../model/schemas.js";
import { fastNormalize } from "../model/fast-normalize.js";
import type { CronJob, CronRegistration, Health, Manifest, Page, QueueInfo, QueueStats, SchemaInfo } from "../model/system.js";
import type { Workflow, WorkflowDefinition } from "../model/workflow.js";
import { flattenWorkflow } from "../codec/workflow.js";
import type { CallOptions, Transport } from "../transport/transport.js";
import { retrySafe } from "../transport/operations.js";
import { CONNECTION_OPTION_KEYS, resolveTransport, type ConnectionOptions } from "../transport/connection.js";
import { followEvents, type EventsOptions } from "./events.js";
import { withRetry, type RetryOptions } from "./retry.js";
import { waitForJob, type WaitForJobOptions } from "./wait.js";
import { checkOptionKeys, type KeyList } from "../util/options.js";
import { resolveLogger } from "../util/logger.js";
import { ConnectionWatch } from "../util/connection-watch.js";
import { AdminClient } from "./admin.js";
import { WebhooksClient } from "./webhooks.js";
import { CodecChain } from "../codec/payload/chain.js";
import type { PayloadCodec } from "../codec/payload/types.js";
import { CheckpointClient } from "./checkpoints.js";
import { copyOptions, JobDroppedError, runEnqueueMiddleware, type BatchJob, type EnqueueMiddleware } from "./middleware.js";

export { JobDroppedError, type BatchJob, type EnqueueMiddleware } from "./middleware.js";

export interface ClientOptions extends ConnectionOptions {
  /**
   * Retry transient failures (unreachable server, timeouts, 5xx, rate limiting,
   * honouring Retry-After). Off by default. Only calls that are safe to repeat
   * are retried; an enqueue only when it carries an `id` or a `unique` policy,
   * so that a retry can never create a second job.
   */
  retry?: RetryOptions | boolean;
  /**
   * What a job may carry, checked before anything is sent (depth and sizes of
   * args and meta, jobs in a batch): a job past a limit is refused with a
   * ValidationError that names it, as the server would refuse it. Defaults
   * are the server's (docs/limits.md); set them to what your server enforces.
   */
  limits?: Partial<Limits>;
  /**
   * Payload codecs (encryption extension, docs/encryption.md): args are encoded
   * by each in turn before they leave the process (compression first, then
   * encryption), so the server only stores what they produce.
   */
  codecs?: readonly PayloadCodec[];
}

const CLIENT_OPTION_KEYS: KeyList<ClientOptions> = { ...CONNECTION_OPTION_KEYS, codecs: true, retry: true, limits: true };

/**
 * The producer and admin side of OJS. Every call works the same over gRPC
 * (default) and HTTP; every call takes an optional `{ signal, timeoutMs }`.
 *
 * ```ts
 * await using client = new Client({ url: "http://localhost:8080" });
 * const job = await client.enqueue("email.send", ["ada@example.com"], { queue: "mail" });
 * ```
 */
export class Client implements AsyncDisposable {
  readonly transport: Transport;
  /**
   * The operator's side (admin-api extension): queues with per-state counts,
   * job search, bulk retry/cancel/delete, workers, statistics.
   *
   * ```ts
   * const { items } = await client.admin.listJobs({ state: "discarded", queue: "mail" });
   * await client.admin.retryJobs({ state: "discarded", queue: "mail" }, { confirm: true });
   * ```
   */
  readonly admin: AdminClient;
  /**
   * Webhook subscriptions and their deliveries (webhooks extension).
   *
   * ```ts
   * const sub = await client.webhooks.create({ url: "https://example.com/hooks/ojs", events: ["job.*"] });
   * ```
   */
  readonly webhooks: WebhooksClient;

  /**
   * Job checkpoints (durable-execution extension): read, seed or clear what a
   * worker saved with `ctx.checkpoint()`.
   *
   * ```ts
   * const cp = await client.checkpoints.get(jobId); // { state, sequence, ... } or undefined
   * ```
   */
  readonly checkpoints: CheckpointClient;
  private readonly owned: boolean;
  private readonly retry: RetryOptions | undefined;
  private readonly middleware: EnqueueMiddleware[] = [];
  private readonly limits: Readonly<Limits>;
  private readonly codecs: CodecChain | undefined;
  private closed = false;
  /** The size of the args and meta that checked() saw last (what enqueueBatch sums against the message limit). */
  private checkedBytes = 0;
  private readonly link: ConnectionWatch;

  /**
   * Checks the options (an unknown key, a URL that is not http(s), a bad
   * logger: ValidationError here, not at the first call) and builds the
   * transport. No connection is opened until the first call.
   */
  constructor(opts: ClientOptions = {}) {
    checkOptionKeys(opts, CLIENT_OPTION_KEYS, "new Client");
    const logger = resolveLogger(opts.logger, "new Client");
    this.limits = resolveLimits(opts.limits);
    this.codecs = opts.codecs?.length ? new CodecChain(opts.codecs) : undefined;
    const { transport, owned, url } = resolveTransport(opts);
    this.transport = transport;
    this.owned = owned;
    this.retry = opts.retry === true ? {} : opts.retry || undefined;
    this.link = new ConnectionWatch(logger, `ojs-connect client${url ? ` -> ${url}` : ""}`);
    this.admin = new AdminClient(this.transport, (idempotent, call, fn) => this.run(idempotent, call, fn));
    this.webhooks = new WebhooksClient(this.transport, (idempotent, call, fn) => this.run(idempotent, call, fn));
    this.checkpoints = new CheckpointClient(this.transport, this.limits, (idempotent, call, fn) => this.run(idempotent, call, fn));
  }

  /** Adds enqueue middleware; they run in the order added. */
  useEnqueueMiddleware(mw: EnqueueMiddleware): this {
    this.middleware.push(mw);
    return this;
  }

  // --- jobs ---------------------------------------------------------------------------

  /**
   * Validates the job, runs enqueue middleware, and submits it. Rejects with a
   * ValidationError naming the field before anything is sent when the input is
   * wrong, and with JobDroppedError when a middleware dropped the job.
   */
  enqueue<A extends JsonValue[]>(type: string, args: A, options: EnqueueOptions = {}, call?: CallOptions): Promise<Job<A>> {
    if (this.middleware.length || this.codecs) return this.enqueueVia(type, args, options, call);
    // Nothing asynchronous before the call (no middleware, no codecs): no async function either, whose
    // promise would wrap the transport's; a refused job is a rejection all the same.
    let req: NormalizedJobRequest;
    try {
      req = this.checked({ type, args, options: copyOptions(options, "options", "enqueue") }, "enqueue");
    } catch (e) {
      return Promise.reject(e);
    }
    const safe = req.id !== undefined || req.unique !== undefined;
    return this.run(retrySafe("enqueue", safe), call, (c) => this.transport.enqueue(req, c)) as Promise<Job<A>>;
  }

  /** enqueue through middleware or codecs. */
  private async enqueueVia<A extends JsonValue[]>(type: string, args: A, options: EnqueueOptions, call?: CallOptions): Promise<Job<A>> {
    const asked = { type, args, options: copyOptions(options, "options", "enqueue") };
    const req = this.middleware.length ? await this.prepare(asked) : this.checked(asked, "enqueue");
    if (!req) throw new JobDroppedError({ type, args, options });
    const safe = req.id !== undefined || req.unique !== undefined;
    const sent = this.codecs ? await this.encode(req, "enqueue") : req;
    const job = await this.run(retrySafe("enqueue", safe), call, (c) => this.transport.enqueue(sent, c));
    // The caller gets back the args it gave, not their encoding.
    return (this.codecs ? { ...job, args: req.args } : job) as Job<A>;
  }

  /**
   * Enqueues several jobs in one atomic call: all are stored or none is.
   * Middleware runs once per job; jobs it drops are left out, and the result
   * holds only the jobs sent, in order.
   */
  async enqueueBatch(jobs: BatchJob[], call?: CallOptions): Promise<Job[]> {
    if (!Array.isArray(jobs)) throw new ValidationError("jobs: must be an array", { operation: "enqueueBatch" });
    checkBatchSize(this.limits, jobs.length);
    const reqs: NormalizedJobRequest[] = [];
    // The jobs' values alone past the message limit: the server could only refuse the batch.
    let bytes = 0;
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i]!;
      try {
        const asked = { type: j?.type, args: j?.args, options: copyOptions(j?.options ?? {}, "options", "enqueueBatch") };
        // A thousand jobs: an await each, where no middleware runs, would be a thousand turns of the microtask queue.
        const req = this.middleware.length ? await this.prepare(asked, "enqueueBatch") : this.checked(asked, "enqueueBatch");
        if (!req) continue;
        reqs.push(req);
        // The limits walked these very values a moment ago: their size is known, unless normalizing changed them.
        bytes +=
          this.middleware.length === 0 && req.args === asked.args && req.meta === asked.options.meta
            ? this.checkedBytes
            : jsonBytes(req.args) + jsonBytes(req.meta);
      } catch (e) {
        if (e instanceof OjsError) e.message = `jobs[${i}]: ${e.message}`;
        throw e;
      }
    }
    if (reqs.length === 0) return [];
    if (bytes > this.limits.maxMessageBytes) throw limitError("maxMessageBytes", this.limits.maxMessageBytes, "batch", bytes);
    const safe = reqs.every((r) => r.id !== undefined || r.unique !== undefined);
    let sent = reqs;
    if (this.codecs) {
      sent = [];
      for (const r of reqs) sent.push(await this.encode(r, "enqueueBatch"));
    }
    const out = await this.run(retrySafe("enqueueBatch", safe), call, (c) => this.transport.enqueueBatch(sent, c));
    return this.codecs ? out.map((j, i) => ({ ...j, args: reqs[i]?.args ?? j.args })) : out;
  }

  /** Reads a job: its state, attempts, result or errors. NotFoundError when the server does not know it (or no longer keeps it). */
  async getJob(id: string, call?: CallOptions): Promise<Job> {
    return this.run(retrySafe("getJob"), call, (c) => this.transport.getJob(requireId(id, "getJob"), c));
  }

  /**
   * The job with its args and result decoded by this client's codecs (a job
   * read with getJob() or waitForJob() holds them as the server stores them).
   * Rejects with a CodecError (`codec_key_unknown`, `codec_decrypt_failed`...)
   * when they cannot be decoded. Without codecs, the job as it is.
   *
   * ```ts
   * const done = await client.decodeJob(await client.waitForJob(job.id));
   * ```
   */
  async decodeJob<J extends Job>(job: J): Promise<J> {
    return this.codecs ? this.codecs.decodeJob(job) : job;
  }

  /** Cancels a job that has not finished; an active job's worker sees its signal abort at its next heartbeat. */
  async cancelJob(id: string, call?: CallOptions): Promise<Job> {
    return this.run(retrySafe("cancelJob"), call, (c) => this.transport.cancelJob(requireId(id, "cancelJob"), c));
  }

  // --- workflows -------------------------------------------------------------------------

  /** Starts a workflow built with chain(), group() or batch(). Every step is validated first. */
  async workflow(def: WorkflowDefinition, call?: CallOptions): Promise<Workflow> {
    // Validates every step before any I/O, whatever the transport; then the limits, as the server checks them.
    const flat = flattenWorkflow(def);
    checkBatchSize(this.limits, flat.steps.length, "steps");
    flat.steps.forEach((s, i) => checkJobRequest(this.limits, { args: s.args, meta: s.request.meta }, `steps[${i}].`));
    const sent = this.codecs ? await this.codecs.encodeWorkflow(def) : def;
    return this.run(retrySafe("createWorkflow"), call, (c) => this.transport.createWorkflow(sent, c));
  }

  /** Reads a workflow and the state of each step. */
  async getWorkflow(id: string, call?: CallOptions): Promise<Workflow> {
    return this.run(retrySafe("getWorkflow"), call, (c) => this.transport.getWorkflow(requireId(id, "getWorkflow"), c));
  }

  /** Cancels a workflow's steps that have not finished. */
  async cancelWorkflow(id: string, call?: CallOptions): Promise<Workflow> {
    return this.run(retrySafe("cancelWorkflow"), call, (c) => this.transport.cancelWorkflow(requireId(id, "cancelWorkflow"), c));
  }

  // --- queues ------------------------------------------------------------------------------

  /** One page of the server's queues (`limit`, then `cursor` from the previous page's `nextCursor`). */
  async listQueues(page: { limit?: number; cursor?: string } = {}, call?: CallOptions): Promise<Page<QueueInfo>> {
    return this.run(retrySafe("listQueues"), call, (c) => this.transport.listQueues(page, c));
  }

  /** Counts by state and throughput of one queue. */
  async queueStats(queue: string, call?: CallOptions): Promise<QueueStats> {
    return this.run(retrySafe("queueStats"), call, (c) => this.transport.queueStats(requireQueue(queue, "queueStats"), c));
  }

  /** Stops delivery from the queue; enqueueing still works. */
  async pauseQueue(queue: string, call?: CallOptions): Promise<void> {
    return this.run(retrySafe("pauseQueue"), call, (c) => this.transport.pauseQueue(requireQueue(queue, "pauseQueue"), c));
  }

  /** Resumes delivery from a paused queue. */
  async resumeQueue(queue: string, call?: CallOptions): Promise<void> {
    return this.run(retrySafe("resumeQueue"), call, (c) => this.transport.resumeQueue(requireQueue(queue, "resumeQueue"), c));
  }

  // --- dead letter ---------------------------------------------------------------------------

  /** One page of dead-lettered jobs, of one queue or all. */
  async listDeadLetterJobs(opts: { queue?: string; limit?: number; cursor?: string } = {}, call?: CallOptions): Promise<Page<Job>> {
    if (opts.queue !== undefined) requireQueue(opts.queue, "listDeadLetterJobs");
    return this.run(retrySafe("listDeadLetter"), call, (c) => this.transport.listDeadLetter(opts, c));
  }

  /** Puts a dead job back on its queue as a new attempt. */
  async retryDeadLetterJob(id: string, call?: CallOptions): Promise<Job> {
    return this.run(retrySafe("retryDeadLetter"), call, (c) => this.transport.retryDeadLetter(requireId(id, "retryDeadLetterJob"), c));
  }

  /** Removes a job from the dead-letter queue for good. */
  async deleteDeadLetterJob(id: string, call?: CallOptions): Promise<void> {
    return this.run(retrySafe("deleteDeadLetter"), call, (c) => this.transport.deleteDeadLetter(requireId(id, "deleteDeadLetterJob"), c));
  }

  // --- cron ----------------------------------------------------------------------------------

  /** Every cron schedule, with its next run. */
  async listCronJobs(call?: CallOptions): Promise<CronJob[]> {
    return this.run(retrySafe("listCron"), call, (c) => this.transport.listCron(c));
  }

  /** Creates or replaces the schedule `name` (an upsert, so safe to repeat). */
  async registerCronJob(def: CronRegistration, call?: CallOptions): Promise<{ name: string; nextRunAt?: Date }> {
    if (typeof def?.name !== "string" || !/^[a-z0-9][a-z0-9\-.]*$/.test(def.name) || def.name.length > 255)
      throw new ValidationError('name: must be lowercase letters, digits, "-" and "." (at most 255)', { operation: "registerCronJob" });
    if (typeof def.cron !== "string" || def.cron.trim() === "") throw new ValidationError("cron: must be a cron expression", { operation: "registerCronJob" });
    // A template is enqueued again at every run: an absolute time or a fixed id would be wrong from the second run on.
    for (const field of ["delay", "scheduledAt", "expiresAt", "id"] as const)
      if (def.options?.[field] !== undefined)
        throw new ValidationError(`options.${field}: not allowed in a cron template (every run would reuse it)`, {
          operation: "registerCronJob",
          issues: [{ path: `options.${field}`, message: "not allowed in a cron template" }],
        });
    const template = normalizeJobRequest({ type: def.type, args: def.args ?? [], options: def.options ?? {} }, Date.now(), "registerCronJob");
    // Every run enqueues the template as stored: encoded once here, decoded by the worker at each run.
    const { type, args, ...options } = this.codecs ? await this.codecs.encodeRequest(template) : template;
    const req = { name: def.name, cron: def.cron, type, args, options, ...(def.timezone ? { timezone: def.timezone } : {}) };
    return this.run(retrySafe("registerCron"), call, (c) => this.transport.registerCron(req, c));
  }

  /** Deletes the cron schedule `name`. */
  async unregisterCronJob(name: string, call?: CallOptions): Promise<void> {
    return this.run(retrySafe("unregisterCron"), call, (c) => this.transport.unregisterCron(requireId(name, "unregisterCronJob"), c));
  }

  // --- schemas ---------------------------------------------------------------------------------

  /** Every registered args schema. */
  async listSchemas(call?: CallOptions): Promise<SchemaInfo[]> {
    return this.run(retrySafe("listSchemas"), call, (c) => this.transport.listSchemas(c));
  }

  /** Registers a JSON Schema (draft 2020-12) for the args of a job type. */
  async registerSchema(def: { type: string; version: number | string; schema: JsonObject }, call?: CallOptions): Promise<SchemaInfo> {
    parseOrThrow(jobTypeSchema, def?.type, "type", "registerSchema");
    if (typeof def.schema !== "object" || def.schema === null || Array.isArray(def.schema))
      throw new ValidationError("schema: must be a JSON Schema object", { operation: "registerSchema" });
    return this.run(retrySafe("registerSchema"), call, (c) => this.transport.registerSchema(def, c));
  }

  /** The latest version unless `version` is given. */
  async getSchema(type: string, version?: number | string, call?: CallOptions): Promise<SchemaInfo> {
    return this.run(retrySafe("getSchema"), call, (c) => this.transport.getSchema(requireId(type, "getSchema"), version, c));
  }

  /** Deletes one version of a job type's args schema. */
  async deleteSchema(type: string, version: number | string, call?: CallOptions): Promise<void> {
    return this.run(retrySafe("deleteSchema"), call, (c) => this.transport.deleteSchema(requireId(type, "deleteSchema"), version, c));
  }

  // --- system ----------------------------------------------------------------------------------

  /** What the server says about itself: implementation, conformance level, protocols, extensions. */
  async manifest(call?: CallOptions): Promise<Manifest> {
    return this.run(retrySafe("manifest"), call, (c) => this.transport.manifest(c));
  }

  /** The server's health (its /health over HTTP, Health over gRPC). */
  async health(call?: CallOptions): Promise<Health> {
    return this.run(retrySafe("health"), call, (c) => this.transport.health(c));
  }

  /**
   * Lifecycle events (job.enqueued, job.completed, ...) until `signal` aborts;
   * reconnects by itself when the connection breaks.
   *
   * ```ts
   * for await (const e of client.events({ queues: ["mail"], types: ["job.*"], signal })) console.log(e.type, e.jobId);
   * ```
   */
  events(opts: EventsOptions = {}): AsyncIterable<OjsEvent> {
    if (this.closed) throw new OjsError("the client is closed", { code: "unavailable", operation: "events" });
    const onReconnect = opts.onReconnect;
    const link = this.link;
    return followEvents(
      this.transport,
      {
        ...opts,
        onReconnect: (info) => {
          link.failed(info.error);
          onReconnect?.(info);
        },
      },
      () => link.ok(),
    );
  }

  /**
   * Resolves with the job once it is in a terminal state (completed, failed,
   * cancelled, discarded). Listens to the server's event stream where it has
   * one, and polls otherwise (and, slowly, alongside it, so a missed event
   * costs seconds, not forever). Rejects with TimeoutError after `timeoutMs`
   * (default: no limit), with AbortError when `signal` aborts, and with
   * NotFoundError when the job does not exist.
   *
   * ```ts
   * const done = await client.waitForJob(job.id, { timeoutMs: 30_000 });
   * if (done.state === "completed") console.log(done.result);
   * ```
   */
  async waitForJob(id: string, opts: WaitForJobOptions = {}): Promise<Job> {
    requireId(id, "waitForJob");
    if (this.closed) throw new OjsError("the client is closed", { code: "unavailable", operation: "waitForJob" });
    return waitForJob({ getJob: (jobId, call) => this.getJob(jobId, call), events: (o) => this.events(o) }, id, opts);
  }

  /** Releases connections (the HTTP/2 session, keep-alive sockets). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.transport.close();
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- internals ---------------------------------------------------------------------------------

  /** Middleware first (they may fill in fields), then validation: what leaves the process is always valid. */
  private async prepare(req: JobRequest, operation = "enqueue"): Promise<NormalizedJobRequest | null> {
    const out = this.middleware.length ? await runEnqueueMiddleware(this.middleware, req, operation) : req;
    return out === null ? null : this.checked(out, operation);
  }

  /** The request checked against the limits and normalized (synchronous: what prepare does after middleware). */
  private checked(out: JobRequest, operation: string): NormalizedJobRequest {
    // Limits first: they walk args and meta with a bounded depth, before anything that could recurse.
    try {
      this.checkedBytes = checkJobRequest(this.limits, out);
    } catch (e) {
      if (e instanceof OjsError) e.operation = operation;
      throw e;
    }
    // normalizeJobRequest, with the clock read only by the full validation, the one that uses it (a
    // relative delay): a clock read is ~0.2 µs in a VM, and a batch made one per job.
    return fastNormalize(out) ?? validateJobRequest(out, Date.now(), operation);
  }

  /** Encodes args with the codecs (limits checked again: the encoding is larger than the args). */
  private async encode(req: NormalizedJobRequest, operation: string): Promise<NormalizedJobRequest> {
    if (!this.codecs) return req;
    const out = await this.codecs.encodeRequest(req);
    try {
      checkJobRequest(this.limits, out);
    } catch (e) {
      if (e instanceof OjsError) e.operation = operation;
      throw e;
    }
    return out;
  }

  private run<T>(idempotent: boolean, call: CallOptions | undefined, fn: (call: CallOptions | undefined) => Promise<T>): Promise<T> {
    return withRetry(idempotent ? this.retry : undefined, call?.signal, () => this.observe(fn(call)));
  }

  /** Feeds each call's outcome to the connection watch: unreachable is logged once per episode. */
  private observe<T>(p: Promise<T>): Promise<T> {
    // One then with two handlers made once: every call's promise passes through here.
    return p.then(this.answered as (out: T) => T, this.failed);
  }

  private readonly answered = <T>(out: T): T => (this.link.ok(), out);

  private readonly failed = (e: unknown): never => {
    // A call on a closed client says nothing about the server.
    if (this.closed) throw e;
    if (e instanceof ConnectionError || (e instanceof OjsError && e.code === "unavailable")) this.link.failed(e);
    // The server answered (with an error): the connection itself works.
    else if (e instanceof OjsError && (e.httpStatus !== undefined || e.grpcCode !== undefined)) this.link.ok();
    throw e;
  };
}

function requireId(id: unknown, operation: string): string {
  if (typeof id !== "string" || id === "")
    throw new ValidationError("id: must be a non-empty string", { operation, issues: [{ path: "id", message: "must be a non-empty string" }] });
  return id;
}

function requireQueue(queue: unknown, operation: string): string {
  return parseOrThrow(queueNameSchema, queue, "queue", operation);
}
