/**
 * The OJS HTTP/JSON binding over the store: one handler per route, each a thin
 * translation between the wire JSON (src/codec) and a store call. Jobs,
 * workers, system and event routes live here; queues, dead letter, cron,
 * workflows, schemas and admin in admin-routes.ts.
 */
import { rateLimitHeaders, registerRateLimitRoutes } from "./rate-limit-routes.js";
import { ackResultToJson, eventToJson, jobErrorFromJson, jobRequestFromJson, nackResultToJson } from "../../codec/json.js";
import { formatInstant } from "../../codec/values.js";
import { manifestToJson } from "../../codec/admin.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { ServerCore } from "../core.js";
import { checkBatchSize } from "../../model/limits.js";
import { admitBatch, checkWorkerValue, enqueueChecked, normalizeWire, schemaCheck } from "../shared.js";
import type { Consumer, JobRecord, NackOptions } from "../store/records.js";
import { registerAdminRoutes } from "./admin-routes.js";
import { registerAdminWorkflowRoutes } from "./admin-workflow-routes.js";
import { registerUiRoutes, type UiAssets } from "./ui-routes.js";
import { registerConformanceRoutes } from "./conformance-routes.js";
import { registerWebhookRoutes } from "./webhook-routes.js";
import { registerTenantRoutes } from "./tenant-routes.js";
import { requestTenant } from "../tenancy/request.js";
import { checkVisible, stampTenant } from "../tenancy/jobs.js";
import { registerJobAckRoute } from "./job-ack-route.js";
import { fetchedJobsJson, registerCheckpointRoutes } from "./checkpoint-routes.js";
import { HttpRouter, type HttpRequest, type HttpResult } from "./router.js";
import { EVENT_SOURCE, sseStream } from "./sse.js";
import { eventFilter, intParam, invalid, jobJson, lastEventId, objectBody, optionalMs, queuesField, stringField, workerJson } from "./route-helpers.js";

const RESPONSE_CODES = new Set(["RETRY", "DISCARD", "DEAD_LETTER", "FAIL"]);

/** Longest a fetch may wait for work (`wait_ms`); clients must allow for it in their timeout. */
export const MAX_LONG_POLL_MS = 30_000;

/**
 * An empty fetch with `wait_ms` waits for work instead of answering at once
 * (an extension: official servers ignore the field and answer empty). The wait
 * is a push consumer of the store, so a job enqueued meanwhile is handed over
 * the moment it is available; the jobs claimed in that tick go out together.
 * If the client leaves first, what was claimed for it goes straight back.
 */
function longPoll(
  core: ServerCore,
  fetch: { queues: string[]; count: number; workerId: string | undefined; visibilityTimeoutMs: number | undefined; tenant: string | undefined },
  waitMs: number,
  signal: AbortSignal,
): Promise<HttpResult> {
  const jobs = core.jobs;
  const release = (rec: JobRecord) => void jobs.release(rec).catch((e: unknown) => core.fault(e, "release of a long-polled job"));
  return new Promise((resolve, reject) => {
    const got: JobRecord[] = [];
    let done = false;
    const finish = (answer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onGone);
      if (consumer) void jobs.closeConsumer(consumer).catch((e: unknown) => core.fault(e, "closing a long poll"));
      if (answer)
        fetchedJobsJson(core, got).then(
          (jobs) => resolve({ status: 200, body: { jobs } }),
          (e: unknown) => {
            // The jobs were claimed for an answer that cannot be sent: they go back.
            for (const r of got) release(r);
            reject(e as Error);
          },
        );
      else {
        for (const r of got) release(r);
        resolve({ status: 499, body: {} });
      }
    };
    const onGone = () => finish(false);
    let consumer: Consumer | undefined;
    const timer = setTimeout(() => finish(true), waitMs);
    timer.unref();
    jobs
      .openConsumer({
        queues: fetch.queues,
        workerId: fetch.workerId ?? "anonymous",
        maxConcurrent: fetch.count,
        ...(fetch.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: fetch.visibilityTimeoutMs } : {}),
        ...(fetch.tenant !== undefined ? { tenant: fetch.tenant } : {}),
        deliver: (rec) => {
          if (done) return release(rec);
          got.push(rec);
          queueMicrotask(() => finish(true));
        },
      })
      .then(
        (c) => {
          consumer = c;
          // Over before the store answered: the consumer is closed now that there is one.
          if (done) void jobs.closeConsumer(c).catch((e: unknown) => core.fault(e, "closing a long poll"));
        },
        (e: unknown) => {
          done = true;
          clearTimeout(timer);
          signal.removeEventListener("abort", onGone);
          reject(e);
        },
      );
    if (signal.aborted) onGone();
    else signal.addEventListener("abort", onGone, { once: true });
  });
}

/** `ui`: the dashboard's files (./ui-routes.ts); without them /ui answers 404. */
export function httpRoutes(core: ServerCore, router = new HttpRouter(), ui?: UiAssets): HttpRouter {
  const store = core.jobs;
  const now = () => core.store.clock.now();

  // --- system ---------------------------------------------------------------------------

  router.on("GET", "/ojs/manifest", () => ({ status: 200, body: manifestToJson(core.manifest()) }));

  const health = (): HttpResult => {
    const h = core.health();
    const body: JsonObject = { status: h.status, timestamp: formatInstant(h.timestamp ?? new Date()), ...(h.details ?? {}) };
    return { status: h.status === "unhealthy" ? 503 : 200, body };
  };
  router.on("GET", "/ojs/v1/health", health);
  // Load balancers probe /health and /ready (observability extension).
  router.on("GET", "/health", health);
  router.on("GET", "/ready", () => (core.draining ? { status: 503, body: { status: "draining" } } : { status: 200, body: { status: "ready" } }));
  router.on("GET", "/metrics", async () => ({ status: 200, text: await metrics(core) }));

  // --- jobs -----------------------------------------------------------------------------

  router.on("POST", "/ojs/v1/jobs", async (req) => {
    const body = objectBody(req);
    stampTenant(body, requestTenant(core, req.raw));
    const t = now();
    const { request, extra } = jobRequestFromJson(body, t);
    const normalized = normalizeWire(request, t, core.limits);
    if (!normalized.rateLimit) await applyRateLimitOption(core, body, normalized.queue ?? "default");
    const out = await enqueueChecked(core, normalized, { extra });
    // The job's id at the top as well: the durable-execution suite reads it from `$.id`.
    const res: JsonObject = { job: jobJson(out.rec), id: out.rec.id };
    if (out.deduplicated) res.deduplicated = true;
    if (out.warnings.length) res.warnings = out.warnings.map((message) => ({ code: "schema_validation", message }));
    const headers: Record<string, string> = { location: `/ojs/v1/jobs/${out.rec.id}`, ...(await rateLimitHeaders(core, normalized.rateLimit)) };
    const pressure = await pressureHeader(core, out.rec.job.queue);
    if (pressure) headers["x-ojs-queue-pressure"] = pressure;
    // UQ §5.4: an ignored duplicate answers 200 with the job that already existed.
    return { status: out.deduplicated ? 200 : 201, body: res, headers };
  });

  router.on("POST", "/ojs/v1/jobs/batch", async (req) => {
    const body = objectBody(req);
    if (!Array.isArray(body.jobs) || body.jobs.length === 0) throw invalid("jobs", "must be a non-empty array of jobs");
    checkBatchSize(core.limits, body.jobs.length);
    const t = now();
    const tenant = requestTenant(core, req.raw);
    const entries = body.jobs.map((j, i) => {
      if (!isJsonObject(j)) throw invalid(`jobs[${i}]`, "must be a JSON object");
      stampTenant(j, tenant, `jobs[${i}].`);
      const { request, extra } = jobRequestFromJson(j, t);
      const req = normalizeWire(request, t, core.limits, `jobs[${i}].`);
      // Checked one by one before the all-or-nothing insert; in "warn" mode a batch carries no warnings.
      schemaCheck(core, req);
      return { req, extra };
    });
    admitBatch(
      core,
      entries.map((e) => e.req),
    );
    const recs = await store.enqueueBatch(entries);
    return { status: 201, body: { jobs: recs.map(jobJson), count: recs.length } };
  });

  /** The job, if the request's tenant may see it (multi-tenancy); else a 404 as for a job that does not exist. */
  const visibleJob = async (req: HttpRequest, id: string): Promise<JobRecord> => {
    const rec = await store.get(id);
    checkVisible(id, rec.job.meta, requestTenant(core, req.raw));
    return rec;
  };
  router.on("GET", "/ojs/v1/jobs/:id", async (req) => ({ status: 200, body: { job: jobJson(await visibleJob(req, req.params.id!)) } }));

  router.on("DELETE", "/ojs/v1/jobs/:id", async (req) => {
    await visibleJob(req, req.params.id!);
    return { status: 200, body: { job: jobJson(await store.cancel(req.params.id!)) } };
  });

  const progressJson = async (id: string): Promise<JsonObject> => {
    const p = (await store.get(id)).progress;
    const o: JsonObject = { job_id: id, progress: p?.value ?? null, message: p?.message ?? null, data: p?.data ?? null };
    if (p) o.updated_at = formatInstant(p.updatedAt);
    return o;
  };
  router.on("GET", "/ojs/v1/jobs/:id/progress", async (req) => {
    await visibleJob(req, req.params.id!);
    return { status: 200, body: await progressJson(req.params.id!) };
  });
  router.on("PUT", "/ojs/v1/jobs/:id/progress", async (req) => {
    await visibleJob(req, req.params.id!);
    const body = objectBody(req);
    const update: { progress?: number; message?: string; data?: JsonObject } = {};
    if (body.progress !== undefined && body.progress !== null) {
      if (typeof body.progress !== "number" || !Number.isFinite(body.progress)) throw invalid("progress", "must be a number from 0 to 1");
      update.progress = body.progress;
    }
    if (typeof body.message === "string") update.message = body.message;
    if (isJsonObject(body.data)) {
      checkWorkerValue(core, body.data, "data");
      update.data = body.data;
    }
    await store.reportProgress(req.params.id!, update);
    return { status: 200, body: await progressJson(req.params.id!) };
  });

  router.on("GET", "/ojs/v1/jobs/:id/events", async (req) => {
    await visibleJob(req, req.params.id!);
    return sseStream(core, { ...eventFilter(req.query, requestTenant(core, req.raw)), jobId: req.params.id! }, lastEventId(req));
  });

  // --- workers ------------------------------------------------------------------------------

  router.on("POST", "/ojs/v1/workers/fetch", async (req) => {
    const body = objectBody(req);
    const count = body.count;
    if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < 1)) throw invalid("count", "must be a positive integer");
    const fetch = {
      queues: queuesField(body),
      count: count ?? 1,
      workerId: typeof body.worker_id === "string" && body.worker_id ? body.worker_id : undefined,
      visibilityTimeoutMs: optionalMs(body, "visibility_timeout_ms"),
      tenant: requestTenant(core, req.raw),
    };
    const recs = await store.fetch(fetch);
    const waitMs = optionalMs(body, "wait_ms");
    if (recs.length > 0 || !waitMs) {
      try {
        return { status: 200, body: { jobs: await fetchedJobsJson(core, recs) } };
      } catch (e) {
        // Claimed for an answer that cannot be sent: the jobs go back rather than wait out their lease.
        for (const r of recs) void store.release(r).catch((err: unknown) => core.fault(err, "release of a fetched job"));
        throw e;
      }
    }
    return longPoll(core, fetch, Math.min(waitMs, MAX_LONG_POLL_MS), req.signal);
  });

  router.on("POST", "/ojs/v1/workers/ack", async (req) => {
    const body = objectBody(req);
    const id = stringField(body, "job_id");
    await visibleJob(req, id);
    const result = "result" in body ? (body.result as JsonValue) : undefined;
    checkWorkerValue(core, result, "result");
    const rec = await store.ack(id, result, typeof body.worker_id === "string" ? body.worker_id : undefined);
    return { status: 200, body: ackResultToJson(rec.job, rec.extra) };
  });

  router.on("POST", "/ojs/v1/workers/nack", async (req) => {
    const body = objectBody(req);
    const id = stringField(body, "job_id");
    await visibleJob(req, id);
    if (!isJsonObject(body.error)) throw invalid("error", "must be an object with code and message");
    checkWorkerValue(core, body.error.details, "error.details");
    const error = jobErrorFromJson(body.error);
    if (typeof body.error.retryable !== "boolean") delete error.retryable;
    const opts: NackOptions = {};
    if (body.requeue === true) opts.requeue = true;
    // RET §7.3: {type, code: "DISCARD"} carries a handler response code beside the error type.
    const code = body.error.code;
    if (typeof code === "string" && RESPONSE_CODES.has(code)) {
      opts.response = code as NackOptions["response"];
      if (typeof body.error.type === "string") error.code = body.error.type;
    }
    const rec = await store.nack(id, error, typeof body.worker_id === "string" ? body.worker_id : undefined, opts);
    return { status: 200, body: nackResultToJson(rec.job, rec.extra) };
  });

  const beat = async (req: HttpRequest, acknowledged: boolean): Promise<HttpResult> => {
    const body = objectBody(req);
    const workerId = stringField(body, "worker_id");
    const ids = new Set<string>();
    for (const field of ["active_jobs", "active_job_ids"]) {
      const v = body[field];
      if (Array.isArray(v)) for (const x of v) if (typeof x === "string") ids.add(x);
    }
    if (typeof body.job_id === "string") ids.add(body.job_id);
    if (typeof body.id === "string") ids.add(body.id);
    const state = typeof body.state === "string" && body.state ? body.state : undefined;
    const out = await store.heartbeat({ workerId, state, jobIds: [...ids], visibilityTimeoutMs: optionalMs(body, "visibility_timeout_ms") });
    const res: JsonObject = {
      // The level-1 cases read the directive in `state`; official servers also send `directive`.
      state: out.directive,
      directive: out.directive,
      jobs_extended: out.extended,
      server_time: formatInstant(new Date(now())),
    };
    if (out.lost.length) res.jobs_lost = out.lost;
    if (acknowledged) res.acknowledged = true;
    return { status: 200, body: res };
  };
  router.on("POST", "/ojs/v1/workers/heartbeat", (req) => beat(req, false));
  // Graceful-shutdown extension: the same beat, acknowledged, with "drain" as a reported state.
  router.on("POST", "/ojs/v1/workers/beat", (req) => beat(req, true));

  router.on("GET", "/ojs/v1/workers/:id/health", async (req) => {
    const w = await store.getWorker(req.params.id!);
    return { status: 200, body: workerJson(w, now()) };
  });

  // --- events -------------------------------------------------------------------------------

  router.on("GET", "/ojs/v1/events", async (req) => {
    const limit = intParam(req.query, "limit", 100, 1000);
    const events = (await store.recentEvents(eventFilter(req.query, requestTenant(core, req.raw)), limit)).reverse();
    return { status: 200, body: { events: events.map((e) => eventToJson(e, EVENT_SOURCE)), count: events.length } };
  });
  router.on("GET", "/ojs/v1/events/stream", (req) => sseStream(core, eventFilter(req.query, requestTenant(core, req.raw)), lastEventId(req)));

  registerAdminRoutes(core, router);
  registerAdminWorkflowRoutes(core, router);
  registerUiRoutes(router, ui);
  registerConformanceRoutes(core, router);
  registerRateLimitRoutes(core, router);
  registerWebhookRoutes(core, router);
  registerTenantRoutes(core, router);
  registerJobAckRoute(core, router);
  registerCheckpointRoutes(core, router);
  return router;
}

/** OpenAPI EnqueueOptions.rate_limit: the first job that names one configures its queue. */
async function applyRateLimitOption(core: ServerCore, body: JsonObject, queue: string): Promise<void> {
  const opts = isJsonObject(body.options) ? body.options : undefined;
  const rl = opts && isJsonObject(opts.rate_limit) ? opts.rate_limit : undefined;
  if (!rl) return;
  const n = rl.max_per_second;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw invalid("options.rate_limit.max_per_second", "must be a positive integer");
  await core.jobs.configureQueue(queue, { rateLimitPerSecond: n });
}

/** Backpressure extension: depth/bound once past the queue's warning threshold. */
async function pressureHeader(core: ServerCore, queue: string): Promise<string | undefined> {
  const p = await core.jobs.pressure(queue);
  if (!p) return undefined;
  const pressure = p.depth / p.backpressure.maxDepth;
  return pressure >= (p.backpressure.warningThreshold ?? 0.8) ? pressure.toFixed(2) : undefined;
}

async function metrics(core: ServerCore): Promise<string> {
  const lines: string[] = [];
  const counts = await core.jobs.countByState();
  lines.push("# HELP ojs_jobs Retained jobs by state.", "# TYPE ojs_jobs gauge");
  for (const [state, n] of Object.entries(counts)) lines.push(`ojs_jobs{state="${state}"} ${n}`);
  lines.push("# HELP ojs_dead_letter_jobs Jobs in the dead-letter queue.", "# TYPE ojs_dead_letter_jobs gauge");
  lines.push(`ojs_dead_letter_jobs ${await core.jobs.deadLetterCount()}`);
  lines.push("# HELP ojs_http_responses_total HTTP responses by status class.", "# TYPE ojs_http_responses_total counter");
  for (const [k, n] of core.counters)
    if (!k.startsWith("grpc_") && !k.startsWith("refused_") && !k.includes(".")) lines.push(`ojs_http_responses_total{class="${k}"} ${n}`);
  lines.push("# HELP ojs_grpc_calls_total Unary gRPC calls by outcome.", "# TYPE ojs_grpc_calls_total counter");
  for (const [k, n] of core.counters) if (k.startsWith("grpc_")) lines.push(`ojs_grpc_calls_total{outcome="${k.slice(5)}"} ${n}`);
  lines.push("# HELP ojs_access_refusals_total Requests refused at the door, by reason.", "# TYPE ojs_access_refusals_total counter");
  for (const [k, n] of core.counters) if (k.startsWith("refused_")) lines.push(`ojs_access_refusals_total{reason="${k.slice(8)}"} ${n}`);
  // Dotted names: connection and stream events of src/server/connections.ts and the job streams.
  lines.push("# HELP ojs_server_events_total Connections and streams the server closed or turned away, by reason.", "# TYPE ojs_server_events_total counter");
  for (const [k, n] of core.counters) if (k.includes(".")) lines.push(`ojs_server_events_total{event="${k}"} ${n}`);
  lines.push("# HELP ojs_uptime_seconds Seconds since the server started.", "# TYPE ojs_uptime_seconds gauge");
  lines.push(`ojs_uptime_seconds ${Math.floor((Date.now() - core.startedAt) / 1000)}`);
  return lines.join("\n") + "\n";
}
