/**
 * Runs HTTP-shaped steps through our own gRPC transport: each (method, path)
 * is mapped to the ojs.v1 RPC of the same logical operation, the JSON request
 * is converted to the domain types the transport takes, and the domain answer
 * is converted back with the codec's JSON writers, so the case's assertions
 * apply unchanged. Errors come back as the standard error body with the HTTP
 * status the error table gives the OJS code.
 *
 * Where an RPC's answer carries less than the HTTP one (Ack returns only
 * `acknowledged`, Nack only the state and next attempt), the adapter reads the
 * job with GetJob right after to fill in the job's fields; the state of the
 * answer itself always comes from the RPC. Each such choice is listed in
 * docs/conformance.md.
 */
import { ackResultToJson, jobRequestFromJson, jobToJson, nackResultToJson } from "../../src/codec/json.js";
import { cronToJson, manifestToJson, queueStatsToJson } from "../../src/codec/admin.js";
import { definitionFromJson, workflowToJson } from "../../src/codec/workflow.js";
import { formatInstant } from "../../src/codec/values.js";
import { toMillis, type Duration } from "../../src/model/duration.js";
import { errorSpec, OjsError } from "../../src/model/errors.js";
import type { JobRequest, NormalizedJobRequest, RetryPolicy, UniquePolicy } from "../../src/model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import type { WorkerDirective } from "../../src/model/system.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { NotApplicable, type Executor, type StepRequest, type StepResponse } from "./interpreter.js";

interface Answer {
  status: number;
  body?: JsonValue;
}

type Handler = (params: string[], body: JsonObject, query: URLSearchParams) => Promise<Answer>;

const DIRECTIVES = new Set(["running", "quiet", "terminate"]);

function num(v: JsonValue | undefined): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function instant(v: unknown): Date | undefined {
  if (v instanceof Date) return v;
  if (typeof v !== "string") return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function ms(v: unknown): number | undefined {
  return typeof v === "number" || typeof v === "string" ? toMillis(v as Duration) : undefined;
}

/**
 * The request as the transport takes it. Valid requests are normalised as the
 * SDK would; an invalid one is copied field by field without judging, so the
 * server (not this adapter) is the one that refuses it. A value the proto
 * cannot carry at all makes the step not applicable.
 */
export function requestForGrpc(r: JobRequest, now: number): NormalizedJobRequest {
  try {
    return normalizeJobRequest(r, now);
  } catch {
    // fall through: let the server judge it
  }
  if (r.args === undefined) throw new NotApplicable("the request has no args; proto3 cannot tell missing args from an empty list");
  if (!Array.isArray(r.args)) throw new NotApplicable("args is not an array; the proto's repeated Value cannot carry it");
  const o = r.options as Record<string, unknown>;
  const out: NormalizedJobRequest = { type: typeof r.type === "string" ? r.type : "", args: r.args };
  if (typeof r.type !== "string" && r.type !== undefined) throw new NotApplicable("type is not a string");
  if (typeof o.id === "string") out.id = o.id;
  if (typeof o.queue === "string") out.queue = o.queue;
  if (typeof o.priority === "number") out.priority = o.priority;
  const timeout = ms(o.timeout);
  if (timeout !== undefined) out.timeout = timeout;
  const at = instant(o.scheduledAt);
  if (at) out.scheduledAt = at;
  const exp = instant(o.expiresAt);
  if (exp) out.expiresAt = exp;
  if (isJsonObject(o.retry as JsonValue)) {
    const src = o.retry as Record<string, unknown>;
    const retry: RetryPolicy = {};
    if (typeof src.maxAttempts === "number") retry.maxAttempts = src.maxAttempts;
    const ii = ms(src.initialInterval);
    if (ii !== undefined) retry.initialInterval = ii;
    if (typeof src.backoffCoefficient === "number") retry.backoffCoefficient = src.backoffCoefficient;
    const mi = ms(src.maxInterval);
    if (mi !== undefined) retry.maxInterval = mi;
    if (typeof src.jitter === "boolean") retry.jitter = src.jitter;
    if (Array.isArray(src.nonRetryableErrors)) retry.nonRetryableErrors = src.nonRetryableErrors as string[];
    if (src.onExhaustion === "discard" || src.onExhaustion === "dead_letter") retry.onExhaustion = src.onExhaustion;
    out.retry = retry;
  }
  if (isJsonObject(o.unique as JsonValue)) out.unique = o.unique as UniquePolicy;
  if (Array.isArray(o.tags)) out.tags = o.tags as string[];
  if (isJsonObject(o.meta as JsonValue)) out.meta = o.meta as JsonObject;
  const vis = ms(o.visibilityTimeout);
  if (vis !== undefined) out.visibilityTimeout = vis;
  return out;
}

function errorAnswer(e: unknown): Answer {
  if (!(e instanceof OjsError)) throw e;
  const error: JsonObject = { code: e.code, type: e.code, message: e.message, retryable: e.retryable };
  if (e.details) error.details = e.details;
  if (e.requestId) error.request_id = e.requestId;
  return { status: errorSpec(e.code).http, body: { error } };
}

export class GrpcExecutor implements Executor {
  readonly protocol = "grpc";
  private readonly t: GrpcTransport;
  private readonly routes: Array<{ method: string; re: RegExp; handler: Handler }> = [];
  /** The proto Workflow has no type; the adapter remembers the kind it sent (see docs/conformance.md). */
  private readonly kinds = new Map<string, string>();

  constructor(url: string, timeoutMs = 30_000) {
    this.t = new GrpcTransport({ url, timeoutMs });
    this.define();
  }

  private on(method: string, pattern: string, handler: Handler): void {
    const re = new RegExp(`^${pattern.replace(/:[a-z]+/g, "([^/]+)")}$`);
    this.routes.push({ method, re, handler });
  }

  async send(req: StepRequest): Promise<StepResponse> {
    const url = new URL(req.path, "http://adapter");
    const route = this.routes.find((r) => r.method === req.method && r.re.test(url.pathname));
    if (!route) throw new NotApplicable(`ojs.v1 has no RPC for ${req.method} ${url.pathname}`);
    const params = (route.re.exec(url.pathname) ?? []).slice(1).map((p) => decodeURIComponent(p));
    if (req.body !== undefined && !isJsonObject(req.body)) throw new NotApplicable("the request body is not a JSON object");
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await route.handler(params, (req.body ?? {}) as JsonObject, url.searchParams);
    } catch (e) {
      answer = errorAnswer(e);
    }
    const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
    return { status: answer.status, headers: { "content-type": "application/grpc+proto" }, text, body: answer.body, durationMs: Math.round(performance.now() - started) };
  }

  async close(): Promise<void> {
    await this.t.close();
  }

  private define(): void {
    const t = this.t;

    this.on("GET", "/ojs/manifest", async () => ({ status: 200, body: manifestToJson(await t.manifest()) }));

    this.on("GET", "/ojs/v1/health", async () => {
      const h = await t.health();
      const body: JsonObject = { status: h.status, ...(h.details ?? {}) };
      if (h.timestamp) body.timestamp = formatInstant(h.timestamp);
      return { status: 200, body };
    });

    this.on("POST", "/ojs/v1/jobs/batch", async (_p, body) => {
      if (!Array.isArray(body.jobs)) throw new NotApplicable("jobs is not a list; EnqueueBatchRequest.jobs is a repeated field");
      const now = Date.now();
      const reqs = body.jobs.map((j) => {
        if (!isJsonObject(j)) throw new NotApplicable("a batch entry is not an object");
        return requestForGrpc(jobRequestFromJson(j, now).request, now);
      });
      const jobs = await t.enqueueBatch(reqs);
      return { status: 201, body: { jobs: jobs.map((j) => jobToJson(j)), count: jobs.length } };
    });

    this.on("POST", "/ojs/v1/jobs", async (_p, body) => {
      const known = new Set(["id", "type", "args", "meta", "options", "schema", "specversion", "priority", "queue"]);
      const unknown = Object.keys(body).filter((k) => !known.has(k));
      if (unknown.length) throw new NotApplicable(`unknown envelope fields (${unknown.join(", ")}) have no place in EnqueueRequest`);
      const now = Date.now();
      const job = await t.enqueue(requestForGrpc(jobRequestFromJson(body, now).request, now));
      return { status: 201, body: { job: jobToJson(job) } };
    });

    this.on("GET", "/ojs/v1/jobs/:id", async ([id]) => ({ status: 200, body: { job: jobToJson(await t.getJob(id!)) } }));
    this.on("DELETE", "/ojs/v1/jobs/:id", async ([id]) => ({ status: 200, body: { job: jobToJson(await t.cancelJob(id!)) } }));

    this.on("POST", "/ojs/v1/workers/fetch", async (_p, body) => {
      const jobs = await t.fetch({
        queues: Array.isArray(body.queues) ? body.queues.map(String) : ["default"],
        count: num(body.count) ?? 1,
        workerId: typeof body.worker_id === "string" ? body.worker_id : "",
        ...(num(body.visibility_timeout_ms) !== undefined ? { visibilityTimeoutMs: num(body.visibility_timeout_ms)! } : {}),
      });
      return { status: 200, body: { jobs: jobs.map((j) => jobToJson(j)) } };
    });

    this.on("POST", "/ojs/v1/workers/ack", async (_p, body) => {
      const jobId = String(body.job_id ?? "");
      await t.ack({ jobId, ...("result" in body ? { result: body.result! } : {}), ...(typeof body.worker_id === "string" ? { workerId: body.worker_id } : {}) });
      return { status: 200, body: ackResultToJson(await t.getJob(jobId)) };
    });

    this.on("POST", "/ojs/v1/workers/nack", async (_p, body) => {
      if (body.requeue === true) throw new NotApplicable("NackRequest has no requeue flag");
      const jobId = String(body.job_id ?? "");
      const err = isJsonObject(body.error) ? body.error : {};
      const error = { code: String(err.code ?? err.type ?? "error"), message: String(err.message ?? ""), ...(typeof err.retryable === "boolean" ? { retryable: err.retryable } : {}), ...(isJsonObject(err.details) ? { details: err.details } : {}) };
      const out = await t.nack({ jobId, error, ...(typeof body.worker_id === "string" ? { workerId: body.worker_id } : {}) });
      const res = nackResultToJson(await t.getJob(jobId));
      res.state = out.state;
      if (out.nextAttemptAt) res.next_attempt_at = formatInstant(out.nextAttemptAt);
      return { status: 200, body: res };
    });

    this.on("POST", "/ojs/v1/workers/heartbeat", async (_p, body) => {
      const ids: string[] = [];
      for (const f of ["active_jobs", "active_job_ids"]) {
        const v = body[f];
        if (Array.isArray(v)) for (const x of v) if (typeof x === "string" && !ids.includes(x)) ids.push(x);
      }
      if (typeof body.job_id === "string" && !ids.includes(body.job_id)) ids.push(body.job_id);
      const state = typeof body.state === "string" && DIRECTIVES.has(body.state) ? (body.state as WorkerDirective) : "running";
      const out = await t.heartbeat({
        workerId: String(body.worker_id ?? ""),
        state,
        activeJobIds: ids,
        ...(num(body.visibility_timeout_ms) !== undefined ? { visibilityTimeoutMs: num(body.visibility_timeout_ms)! } : {}),
      });
      return { status: 200, body: { state: out.directive, directive: out.directive, jobs_extended: out.extended ?? [] } };
    });

    this.on("GET", "/ojs/v1/queues", async () => {
      const page = await t.listQueues({ limit: 1000 });
      return { status: 200, body: { queues: page.items.map((q) => ({ name: q.name, paused: q.paused, available: q.availableCount ?? 0 })) } };
    });

    this.on("GET", "/ojs/v1/queues/:name/stats", async ([name]) => {
      const s = await t.queueStats(name!);
      // QueueStatistics carries completed_last_hour but no all-time count; within a case the two agree.
      return { status: 200, body: { queue: queueStatsToJson(s, s.completedLastHour) } };
    });

    for (const action of ["pause", "resume"] as const) {
      this.on("POST", `/ojs/v1/queues/:name/${action}`, async ([name]) => {
        await (action === "pause" ? t.pauseQueue(name!) : t.resumeQueue(name!));
        const s = await t.queueStats(name!);
        return { status: 200, body: { queue: { name: name!, paused: s.paused } } };
      });
    }

    this.on("GET", "/ojs/v1/dead-letter", async (_p, _b, q) => {
      const page = await t.listDeadLetter({
        ...(q.get("queue") ? { queue: q.get("queue")! } : {}),
        ...(q.get("limit") ? { limit: Number(q.get("limit")) } : {}),
      });
      return { status: 200, body: { jobs: page.items.map((j) => jobToJson(j)), total_count: page.totalCount ?? page.items.length } };
    });
    this.on("POST", "/ojs/v1/dead-letter/:id/retry", async ([id]) => ({ status: 200, body: { job: jobToJson(await t.retryDeadLetter(id!)) } }));
    this.on("DELETE", "/ojs/v1/dead-letter/:id", async ([id]) => {
      await t.deleteDeadLetter(id!);
      return { status: 200, body: { deleted: true, job_id: id! } };
    });

    this.on("GET", "/ojs/v1/cron", async () => ({ status: 200, body: { crons: (await t.listCron()).map((c) => cronToJson(c, { enabled: true })) } }));
    this.on("POST", "/ojs/v1/cron", async (_p, body) => {
      for (const f of ["overlap_policy", "enabled", "description"]) if (f in body) throw new NotApplicable(`RegisterCronRequest has no ${f}`);
      const tpl = isJsonObject(body.job_template) ? body.job_template : {};
      const now = Date.now();
      const { type, args, ...options } = requestForGrpc(jobRequestFromJson({ type: tpl.type ?? "", args: tpl.args ?? [], ...(tpl.options !== undefined ? { options: tpl.options } : {}) }, now).request, now);
      const name = String(body.name ?? "");
      await t.registerCron({ name, cron: String(body.expression ?? body.cron ?? ""), ...(typeof body.timezone === "string" ? { timezone: body.timezone } : {}), type, args, options });
      const entry = (await t.listCron()).find((c) => c.name === name);
      // A schedule registered over gRPC is active: the proto has no disabled schedules.
      return { status: 201, body: { cron: entry ? cronToJson(entry, { enabled: true }) : { name } } };
    });
    this.on("DELETE", "/ojs/v1/cron/:name", async ([name]) => {
      await t.unregisterCron(name!);
      return { status: 200, body: {} };
    });

    this.on("POST", "/ojs/v1/workflows", async (_p, body) => {
      const def = definitionFromJson(body);
      const w = await t.createWorkflow(def);
      this.kinds.set(w.id, def.kind);
      return { status: 201, body: { workflow: workflowToJson(w, { kind: def.kind }) } };
    });
    this.on("GET", "/ojs/v1/workflows/:id", async ([id]) => {
      const w = await t.getWorkflow(id!);
      return { status: 200, body: { workflow: workflowToJson(w, { kind: this.kinds.get(w.id) ?? "dag" }) } };
    });
    this.on("DELETE", "/ojs/v1/workflows/:id", async ([id]) => {
      const w = await t.cancelWorkflow(id!);
      return { status: 200, body: { workflow: workflowToJson(w, { kind: this.kinds.get(w.id) ?? "dag" }) } };
    });
  }
}
