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
 *
 * The adapter never makes an answer up: no constant, no echo of the request,
 * no default standing in for a field the server did not send. Where the RPC
 * cannot say what a step asserts (an empty response, a field ojs.v1 lacks,
 * HTTP headers), the step throws NotApplicable with a contract gap declared
 * in policy.ts (GRPC_CONTRACT_GAPS), and the case is not applicable over gRPC
 * with that reason.
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
import { createClient, type Client as RpcClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";
import { WorkerState } from "../../gen/ojs/v1/worker_pb.js";
import { resultToStruct, workerStateFromProto, workerStateToProto } from "../../src/codec/proto.js";
import { durationFromMs } from "../../src/codec/values.js";
import { fromConnectError } from "../../src/transport/grpc/errors.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { NotApplicable, type Executor, type StepRequest, type StepResponse } from "./interpreter.js";
import { touchesPaths } from "./jsonpath.js";
import type { GrpcGap } from "./policy.js";

interface Answer {
  status: number;
  body?: JsonValue;
  /**
   * Parts of the HTTP answer the RPC cannot say ("$" for all of the body), and the
   * declared gap that explains why: a step asserting any of them is not applicable.
   */
  unknowable?: { paths: string[]; gap: GrpcGap };
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

  /**
   * The bare ojs.v1 client, for the RPCs whose answer the SDK transport reduces
   * (Ack's `acknowledged`, Heartbeat's "no change"): the adapter reports what the server said.
   */
  private readonly session: Http2SessionManager;
  private readonly rpc: RpcClient<typeof OJSService>;

  constructor(url: string, timeoutMs = 30_000) {
    this.t = new GrpcTransport({ url, timeoutMs });
    this.session = new Http2SessionManager(url);
    this.rpc = createClient(OJSService, createGrpcTransport({ baseUrl: url.replace(/\/$/, ""), sessionManager: this.session, defaultTimeoutMs: timeoutMs }));
    this.define();
  }

  /** A bare RPC, its failure read as the transport reads it (an OjsError with the server's code). */
  private async raw<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw fromConnectError(e, operation);
    }
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
    if (req.rawBody !== undefined) {
      // A protobuf request is made from parsed values: text that is not JSON has no message to become.
      let parsed: unknown;
      try {
        parsed = JSON.parse(req.rawBody);
      } catch {
        throw new NotApplicable(`the step sends text that is not JSON (${JSON.stringify(req.rawBody.slice(0, 40))})`, "unparsable-body");
      }
      req = { ...req, body: parsed as JsonValue };
    }
    if (req.body !== undefined && !isJsonObject(req.body)) throw new NotApplicable("the request body is not a JSON object");
    const a = req.step.assertions;
    if (isJsonObject(a) && a.headers !== undefined) throw new NotApplicable(`step ${req.step.id} asserts HTTP response headers`, "http-headers");
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await route.handler(params, (req.body ?? {}) as JsonObject, url.searchParams);
    } catch (e) {
      answer = errorAnswer(e);
    }
    const durationMs = Math.round(performance.now() - started);
    if (answer.unknowable && isJsonObject(a) && touchesPaths(a, answer.unknowable.paths))
      throw new NotApplicable(`step ${req.step.id} asserts ${answer.unknowable.paths.join(", ")} of ${req.method} ${url.pathname}`, answer.unknowable.gap);
    if (answer.body !== undefined) answer.body = proto3Instants(answer.body);
    const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
    // No headers: a gRPC answer has none of the HTTP binding's (steps asserting them are not applicable, above).
    return { status: answer.status, headers: {}, text, body: answer.body, durationMs };
  }

  async close(): Promise<void> {
    await this.t.close();
    this.session.abort();
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

    // The ACK of ojs-results.md §10.1, the id in the path: the same Ack RPC.
    this.on("POST", "/ojs/v1/jobs/:id/ack", async ([id], body) => {
      const res = await this.raw("ack", () => this.rpc.ack({ jobId: id!, ...("result" in body ? { result: resultToStruct(body.result!) } : {}) }));
      const out = ackResultToJson(await t.getJob(id!));
      out.acknowledged = res.acknowledged;
      return { status: 200, body: out };
    });

    this.on("POST", "/ojs/v1/workers/ack", async (_p, body) => {
      const jobId = String(body.job_id ?? "");
      const res = await this.raw("ack", () => this.rpc.ack({ jobId, ...("result" in body ? { result: resultToStruct(body.result!) } : {}) }));
      const out = ackResultToJson(await t.getJob(jobId));
      // What the server said, not what a successful call implies.
      out.acknowledged = res.acknowledged;
      return { status: 200, body: out };
    });

    this.on("POST", "/ojs/v1/workers/nack", async (_p, body) => {
      if (body.requeue === true) throw new NotApplicable("NackRequest has no requeue flag");
      const jobId = String(body.job_id ?? "");
      const err = isJsonObject(body.error) ? body.error : {};
      const error = {
        code: String(err.code ?? err.type ?? "error"),
        message: String(err.message ?? ""),
        ...(typeof err.retryable === "boolean" ? { retryable: err.retryable } : {}),
        ...(isJsonObject(err.details) ? { details: err.details } : {}),
      };
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
      const vis = num(body.visibility_timeout_ms);
      // One Heartbeat RPC per job, as the proto has it (one without a job when none is named).
      const answers = await Promise.all(
        (ids.length ? ids : [""]).map((id) =>
          this.raw("heartbeat", () =>
            this.rpc.heartbeat({
              workerId: String(body.worker_id ?? ""),
              id,
              currentState: workerStateToProto(state),
              ...(vis !== undefined ? { extendBy: durationFromMs(vis) } : {}),
            }),
          ),
        ),
      );
      const directed = new Set(answers.map((r) => r.directedState));
      const out: JsonObject = { jobs_extended: ids };
      // UNSPECIFIED means "no change": the server did not say which state, so the answer names none.
      if (directed.size === 1 && !directed.has(WorkerState.UNSPECIFIED)) {
        const d = workerStateFromProto([...directed][0]!);
        if (d) out.state = out.directive = d;
      }
      if (out.state !== undefined) return { status: 200, body: out };
      return { status: 200, body: out, unknowable: { paths: ["$.state", "$.directive"], gap: "heartbeat-no-directive" } };
    });

    this.on("GET", "/ojs/v1/queues", async () => {
      const page = await t.listQueues({ limit: 1000 });
      return {
        status: 200,
        body: {
          queues: page.items.map((q) => ({ name: q.name, paused: q.paused, ...(q.availableCount !== undefined ? { available: q.availableCount } : {}) })),
        },
      };
    });

    this.on("GET", "/ojs/v1/queues/:name/stats", async ([name]) => {
      const s = await t.queueStats(name!);
      const queue = queueStatsToJson(s, 0);
      // QueueStatistics has completed_last_hour but no all-time count.
      delete queue.completed;
      return { status: 200, body: { queue }, unknowable: { paths: ["$.queue.completed"], gap: "no-all-time-completed" } };
    });

    for (const action of ["pause", "resume"] as const) {
      this.on("POST", `/ojs/v1/queues/:name/${action}`, async ([name]) => {
        await (action === "pause" ? t.pauseQueue(name!) : t.resumeQueue(name!));
        return { status: 200, unknowable: { paths: ["$"], gap: "empty-response" } };
      });
    }

    this.on("GET", "/ojs/v1/dead-letter", async (_p, _b, q) => {
      const page = await t.listDeadLetter({
        ...(q.get("queue") ? { queue: q.get("queue")! } : {}),
        ...(q.get("limit") ? { limit: Number(q.get("limit")) } : {}),
      });
      return { status: 200, body: { jobs: page.items.map((j) => jobToJson(j)), ...(page.totalCount !== undefined ? { total_count: page.totalCount } : {}) } };
    });
    this.on("POST", "/ojs/v1/dead-letter/:id/retry", async ([id]) => ({ status: 200, body: { job: jobToJson(await t.retryDeadLetter(id!)) } }));
    this.on("DELETE", "/ojs/v1/dead-letter/:id", async ([id]) => {
      await t.deleteDeadLetter(id!);
      return { status: 200, unknowable: { paths: ["$"], gap: "empty-response" } };
    });

    this.on("GET", "/ojs/v1/cron", async () => ({ status: 200, body: { crons: (await t.listCron()).map((c) => cronToJson(c, { enabled: true })) } }));
    this.on("POST", "/ojs/v1/cron", async (_p, body) => {
      for (const f of ["overlap_policy", "enabled", "description"]) if (f in body) throw new NotApplicable(`RegisterCronRequest has no ${f}`);
      const tpl = isJsonObject(body.job_template) ? body.job_template : {};
      const now = Date.now();
      const { type, args, ...options } = requestForGrpc(
        jobRequestFromJson({ type: tpl.type ?? "", args: tpl.args ?? [], ...(tpl.options !== undefined ? { options: tpl.options } : {}) }, now).request,
        now,
      );
      const name = String(body.name ?? "");
      await t.registerCron({
        name,
        cron: String(body.expression ?? body.cron ?? ""),
        ...(typeof body.timezone === "string" ? { timezone: body.timezone } : {}),
        type,
        args,
        options,
      });
      const entry = (await t.listCron()).find((c) => c.name === name);
      // A schedule registered over gRPC is active: the proto has no disabled schedules.
      if (entry) return { status: 201, body: { cron: cronToJson(entry, { enabled: true }) } };
      return { status: 201, unknowable: { paths: ["$"], gap: "empty-response" } };
    });
    this.on("DELETE", "/ojs/v1/cron/:name", async ([name]) => {
      // UnregisterCronResponse is empty: what was removed is the server's own entry, read from ListCron
      // just before (as for RegisterCron above), never the name the request carried.
      const entry = (await t.listCron()).find((c) => c.name === name);
      await t.unregisterCron(name!);
      if (entry) return { status: 200, body: { cron: cronToJson(entry, { enabled: true }) } };
      return { status: 200, unknowable: { paths: ["$"], gap: "empty-response" } };
    });

    // The proto Workflow has no type (chain, group, batch): the answer cannot say it.
    const workflow = (status: number, w: Parameters<typeof workflowToJson>[0]): Answer => ({
      status,
      body: { workflow: workflowToJson(w) },
      unknowable: { paths: ["$.workflow.type"], gap: "no-workflow-type" },
    });
    this.on("POST", "/ojs/v1/workflows", async (_p, body) => workflow(201, await t.createWorkflow(definitionFromJson(body))));
    this.on("GET", "/ojs/v1/workflows/:id", async ([id]) => workflow(200, await t.getWorkflow(id!)));
    this.on("DELETE", "/ojs/v1/workflows/:id", async ([id]) => workflow(200, await t.cancelWorkflow(id!)));
  }
}

/**
 * A protobuf Timestamp is an instant without a written form; the proto3 JSON
 * mapping writes it in UTC with 0, 3, 6 or 9 fractional digits, the fewest that
 * hold it. The answer's `*_at` fields are rendered so: "…T23:59:59Z", not the
 * "…T23:59:59.000Z" of Date.toISOString().
 */
function proto3Instants(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(proto3Instants);
  if (!isJsonObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v))
    out[k] = k.endsWith("_at") && typeof x === "string" && WHOLE_SECOND_UTC.test(x) ? x.replace(".000Z", "Z") : proto3Instants(x);
  return out;
}
const WHOLE_SECOND_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/;
