/**
 * Queue, dead-letter, cron, workflow, schema and admin routes of the HTTP
 * binding. Where an extension case and a level case name different routes for
 * one operation (dead letter), both are served; docs/conformance.md lists them.
 */
import { requestTenant } from "../tenancy/request.js";
import { retentionFromJson, retentionToJson } from "../../codec/retention.js";
import { jobRequestFromJson } from "../../codec/json.js";
import { cronToJson, queueInfoToJson, queueStatsToJson } from "../../codec/admin.js";
import { definitionFromJson, flattenWorkflow, workflowToJson } from "../../codec/workflow.js";
import { formatInstant } from "../../codec/values.js";
import { NotFoundError, ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonObject } from "../../model/json.js";
import type { DagStep } from "../../model/workflow.js";
import type { ServerCore } from "../core.js";
import type { Limits } from "../../model/limits.js";
import { admitWorkflow, cronExtraJson, cronJobOf, normalizeWire, queueInfoOf, queueStatsOf } from "../shared.js";
import { OVERLAP_POLICIES, type CronRecord, type OverlapPolicy } from "../store/cron.js";
import { parseVersion, type SchemaRecord } from "../store/schemas.js";
import type { QueueConfig, QueueSummary } from "../store/records.js";
import { eventFilter, intParam, jobJson, lastEventId, objectBody, workerJson } from "./route-helpers.js";
import type { HttpRequest, HttpRouter } from "./router.js";
import { sseStream } from "./sse.js";
import { registerAdminApiRoutes } from "./admin-api-routes.js";

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { issues: [{ path, message }] });
}

function queueJson(s: QueueSummary): JsonObject {
  const o: JsonObject = { ...queueInfoToJson(queueInfoOf(s)), depth: s.depth };
  if (s.backpressure) {
    o.backpressure = { max_depth: s.backpressure.maxDepth, strategy: s.backpressure.strategy };
    if (s.backpressure.warningThreshold !== undefined) (o.backpressure as JsonObject).warning_threshold = s.backpressure.warningThreshold;
  }
  if (s.rateLimitPerSecond) o.rate_limit = { max_per_second: s.rateLimitPerSecond };
  return o;
}

function cronJson(e: CronRecord): JsonObject {
  return cronToJson(cronJobOf(e), cronExtraJson(e));
}

function schemaJson(r: SchemaRecord, latest?: SchemaRecord): JsonObject {
  const o: JsonObject = { type: r.type, job_type: r.type, version: r.version, schema: r.schema, created_at: formatInstant(r.createdAt) };
  if (latest) o.is_latest = latest === r;
  return o;
}

function version(req: HttpRequest): number | string {
  const v = parseVersion(req.params.version);
  if (v === undefined) throw invalid("version", "must be a version number or string");
  return v;
}

/** Cron bodies: {name, expression, timezone, job_template{type,args,options}} or the flat {cron, type, args, options}. */
function cronRegistration(body: JsonObject, now: number, limits: Readonly<Limits>) {
  const name = body.name;
  if (typeof name !== "string" || !name) throw invalid("name", "must be a non-empty string");
  const expression = body.expression ?? body.cron ?? body.schedule;
  if (typeof expression !== "string" || !expression.trim()) throw invalid("expression", "must be a cron expression");
  const t = isJsonObject(body.job_template) ? body.job_template : isJsonObject(body.job) ? body.job : body;
  const tpl: JsonObject = { type: t.type ?? null, args: t.args ?? [] };
  if (t.options !== undefined) tpl.options = t.options;
  if (t.meta !== undefined) tpl.meta = t.meta;
  const { request } = jobRequestFromJson(tpl, now);
  const template = normalizeWire(request, now, limits, "job_template.");
  const overlap = body.overlap_policy ?? "skip";
  if (typeof overlap !== "string" || !OVERLAP_POLICIES.includes(overlap as OverlapPolicy))
    throw invalid("overlap_policy", `must be one of ${OVERLAP_POLICIES.join(", ")}`);
  if (body.timezone !== undefined && typeof body.timezone !== "string") throw invalid("timezone", "must be an IANA time zone name");
  if (body.enabled !== undefined && typeof body.enabled !== "boolean") throw invalid("enabled", "must be a boolean");
  return {
    name,
    expression,
    ...(typeof body.timezone === "string" && body.timezone ? { timezone: body.timezone } : {}),
    template,
    overlapPolicy: overlap as OverlapPolicy,
    ...(typeof body.enabled === "boolean" ? { enabled: body.enabled } : {}),
    ...(typeof body.description === "string" ? { description: body.description } : {}),
  };
}

/** The graph shape of POST /workflows: {name, steps: [{id, type, args, depends_on, options}]}. */
function dagFromJson(body: JsonObject, now: number, limits: Readonly<Limits>): { name: string; steps: DagStep[] } {
  if (!Array.isArray(body.steps) || body.steps.length === 0) throw new ValidationError("steps: must be a non-empty array", { code: "invalid_workflow" });
  const steps = body.steps.map((s, i) => {
    if (!isJsonObject(s)) throw new ValidationError(`steps[${i}]: must be an object`, { code: "invalid_workflow" });
    const deps = s.depends_on ?? [];
    if (!Array.isArray(deps) || !deps.every((d) => typeof d === "string"))
      throw new ValidationError(`steps[${i}].depends_on: must be an array of step ids`, { code: "invalid_workflow" });
    const { request } = jobRequestFromJson(s, now);
    const { type, args, ...rest } = normalizeWire(request, now, limits, `steps[${i}].`);
    return { id: typeof s.id === "string" ? s.id : String(i), type, args, dependsOn: deps as string[], request: rest };
  });
  return { name: typeof body.name === "string" ? body.name : "", steps };
}

export function registerAdminRoutes(core: ServerCore, router: HttpRouter): void {
  const store = core.jobs;
  const now = () => core.store.clock.now();

  // --- queues -------------------------------------------------------------------------

  router.on("GET", "/ojs/v1/queues", async (req) => {
    const all = await store.listQueues();
    const offset = Number(req.query.get("cursor") ?? 0) || 0;
    const limit = intParam(req.query, "limit", 100, 1000) || 100;
    const page = all.slice(offset, offset + limit);
    const body: JsonObject = { queues: page.map(queueJson), total: all.length };
    if (offset + limit < all.length) body.next_cursor = String(offset + limit);
    return { status: 200, body };
  });

  router.on("GET", "/ojs/v1/queues/:name/stats", async (req) => {
    const s = await store.queueSummary(req.params.name!);
    const queue = {
      ...queueStatsToJson(queueStatsOf(s), s.counts.completed),
      pending: s.counts.pending,
      cancelled: s.counts.cancelled,
      discarded: s.counts.discarded,
    };
    // The backpressure extension reads a flat "stats" object beside the level-4 "queue" one.
    const stats: JsonObject = { queue: s.name, depth: s.depth, ...queue };
    if (s.backpressure) stats.max_depth = s.backpressure.maxDepth;
    return { status: 200, body: { queue, stats } };
  });

  router.on("POST", "/ojs/v1/queues/:name/pause", async (req) => ({ status: 200, body: { queue: queueJson(await store.pauseQueue(req.params.name!)) } }));
  router.on("POST", "/ojs/v1/queues/:name/resume", async (req) => ({ status: 200, body: { queue: queueJson(await store.resumeQueue(req.params.name!)) } }));
  // Every event stream takes the same query filters and resumes after Last-Event-ID.
  router.on("GET", "/ojs/v1/queues/:name/events", (req) =>
    sseStream(core, { ...eventFilter(req.query, requestTenant(core, req.raw)), queues: [req.params.name!] }, lastEventId(req)),
  );

  // --- dead letter (level 1 routes) ------------------------------------------------------

  router.on("GET", "/ojs/v1/dead-letter", async (req) => {
    const limit = intParam(req.query, "limit", 50, 1000) || 50;
    const offset = intParam(req.query, "offset", Number(req.query.get("cursor") ?? 0) || 0, Number.MAX_SAFE_INTEGER);
    const queue = req.query.get("queue") ?? undefined;
    const page = await store.listDeadLetter({ ...(queue ? { queue } : {}), offset, limit });
    const body: JsonObject = { jobs: page.jobs.map(jobJson), total_count: page.total, total: page.total, limit, offset };
    if (offset + page.jobs.length < page.total) body.next_cursor = String(offset + page.jobs.length);
    return { status: 200, body };
  });
  router.on("POST", "/ojs/v1/dead-letter/:id/retry", async (req) => ({ status: 200, body: { job: jobJson(await store.retryDeadLetter(req.params.id!)) } }));
  router.on("DELETE", "/ojs/v1/dead-letter/:id", async (req) => {
    await store.deleteDeadLetter(req.params.id!);
    return { status: 200, body: { deleted: true, job_id: req.params.id! } };
  });

  // --- dead letter (admin API, extension cases) -------------------------------------------

  router.on("GET", "/ojs/v1/admin/dead-letter", async (req) => {
    const perPage = intParam(req.query, "per_page", 20, 1000) || 20;
    const page = Math.max(1, intParam(req.query, "page", 1, Number.MAX_SAFE_INTEGER));
    const queue = req.query.get("queue") ?? undefined;
    const out = await store.listDeadLetter({ ...(queue ? { queue } : {}), offset: (page - 1) * perPage, limit: perPage });
    return { status: 200, body: { items: out.jobs.map(jobJson), pagination: { total: out.total, page, per_page: perPage } } };
  });
  router.on("GET", "/ojs/v1/admin/dead-letter/stats", async () => {
    const byQueue: JsonObject = {};
    for (const q of await store.listQueues()) if (q.dead) byQueue[q.name] = q.dead;
    return { status: 200, body: { total: await store.deadLetterCount(), by_queue: byQueue } };
  });
  router.on("POST", "/ojs/v1/admin/dead-letter/:id/retry", async (req) => ({
    status: 200,
    body: { job: jobJson(await store.retryDeadLetter(req.params.id!)) },
  }));
  router.on("DELETE", "/ojs/v1/admin/dead-letter/:id", async (req) => {
    await store.deleteDeadLetter(req.params.id!);
    return { status: 204 };
  });

  // --- cron -------------------------------------------------------------------------------

  router.on("GET", "/ojs/v1/cron", (req) => {
    const enabled = req.query.get("enabled");
    const list = core.cron.list().filter((e) => enabled === null || String(e.enabled) === enabled);
    return { status: 200, body: { crons: list.map(cronJson), count: list.length } };
  });
  router.on("POST", "/ojs/v1/cron", (req) => {
    const { entry, created } = core.cron.register(cronRegistration(objectBody(req), now(), core.limits));
    return { status: created ? 201 : 200, body: { cron: cronJson(entry) } };
  });
  router.on("GET", "/ojs/v1/cron/:name", (req) => ({ status: 200, body: { cron: cronJson(core.cron.get(req.params.name!)) } }));
  router.on("PATCH", "/ojs/v1/cron/:name", (req) => {
    const body = objectBody(req);
    if (typeof body.enabled !== "boolean") throw invalid("enabled", "must be a boolean");
    return { status: 200, body: { cron: cronJson(core.cron.setEnabled(req.params.name!, body.enabled)) } };
  });
  router.on("DELETE", "/ojs/v1/cron/:name", (req) => ({ status: 200, body: { cron: cronJson(core.cron.unregister(req.params.name!)), deleted: true } }));

  // --- workflows --------------------------------------------------------------------------

  router.on("POST", "/ojs/v1/workflows", async (req) => {
    const body = objectBody(req);
    const t = now();
    let v;
    if (typeof body.type === "string" || !Array.isArray(body.steps)) {
      const def = definitionFromJson(body);
      const flat = flattenWorkflow(def, t);
      admitWorkflow(core, flat.steps);
      v = await core.workflows.create(flat.name, flat.kind, flat.steps);
    } else {
      const dag = dagFromJson(body, t, core.limits);
      admitWorkflow(core, dag.steps);
      v = await core.workflows.create(dag.name, "dag", dag.steps);
    }
    return { status: 201, body: { workflow: workflowToJson(v.workflow, { kind: v.kind }) }, headers: { location: `/ojs/v1/workflows/${v.workflow.id}` } };
  });
  router.on("GET", "/ojs/v1/workflows/:id", async (req) => {
    const v = await core.workflows.get(req.params.id!);
    return { status: 200, body: { workflow: workflowToJson(v.workflow, { kind: v.kind }) } };
  });
  router.on("DELETE", "/ojs/v1/workflows/:id", async (req) => {
    const v = await core.workflows.cancel(req.params.id!);
    return { status: 200, body: { workflow: workflowToJson(v.workflow, { kind: v.kind }) } };
  });
  router.on("GET", "/ojs/v1/workflows/:id/events", async (req) => {
    await core.workflows.get(req.params.id!);
    return sseStream(core, { ...eventFilter(req.query, requestTenant(core, req.raw)), workflowId: req.params.id! }, lastEventId(req));
  });

  // --- schemas: /ojs/v1/schemas (SDK transports) and /ojs/v1/admin/schemas (extension cases) ---

  const registerSchema = (type: unknown, ver: unknown, schema: unknown) => {
    if (typeof type !== "string" || !type) throw invalid("type", "must be a job type");
    const v = parseVersion(ver);
    if (v === undefined) throw invalid("version", "must be a version number or string");
    if (!isJsonObject(schema) || Object.keys(schema).length === 0) throw invalid("schema", "must be a non-empty JSON Schema object");
    return core.schemas.register(type, v, schema, new Date(now()));
  };
  const latestOf = (type: string) => core.schemas.get(type);
  for (const base of ["/ojs/v1/schemas", "/ojs/v1/admin/schemas"]) {
    router.on("GET", base, () => ({ status: 200, body: { schemas: core.schemas.list().map((r) => schemaJson(r)) } }));
    router.on("POST", base, (req) => {
      const b = objectBody(req);
      return { status: 201, body: schemaJson(registerSchema(b.type ?? b.job_type, b.version, b.schema)) };
    });
    router.on("GET", `${base}/:type`, (req) => ({ status: 200, body: schemaJson(latestOf(req.params.type!)) }));
    router.on("GET", `${base}/:type/versions`, (req) => {
      const versions = core.schemas.versions(req.params.type!);
      if (versions.length === 0) throw new NotFoundError(`no schemas registered for ${req.params.type!}`);
      const latest = versions[0];
      return { status: 200, body: { type: req.params.type!, versions: versions.map((r) => schemaJson(r, latest)) } };
    });
    router.on("GET", `${base}/:type/:version`, (req) => ({ status: 200, body: schemaJson(core.schemas.get(req.params.type!, version(req))) }));
    router.on("PUT", `${base}/:type/:version`, (req) => {
      const b = objectBody(req);
      return { status: 201, body: schemaJson(registerSchema(req.params.type, req.params.version, b.schema)) };
    });
    router.on("DELETE", `${base}/:type/:version`, (req) => {
      const v = version(req);
      core.schemas.delete(req.params.type!, v);
      return { status: 200, body: { deleted: true, type: req.params.type!, version: v } };
    });
  }

  // --- admin: worker directives, queue configuration -------------------------------------------

  for (const [action, directive] of [
    ["quiet", "quiet"],
    ["terminate", "terminate"],
    ["resume", "running"],
  ] as const) {
    router.on("POST", `/ojs/v1/admin/workers/:id/${action}`, async (req) => ({
      status: 200,
      body: { worker: workerJson(await store.directWorker(req.params.id!, directive), now()) },
    }));
  }
  router.on("DELETE", "/ojs/v1/admin/workers/:id", async (req) => {
    await store.removeWorker(req.params.id!);
    return { status: 200, body: { deleted: true, worker_id: req.params.id! } };
  });

  router.on("PUT", "/ojs/v1/admin/queues/:name/config", async (req) => {
    const b = objectBody(req);
    const cfg: QueueConfig = {};
    if (b.backpressure === null) cfg.backpressure = null;
    else if (b.backpressure !== undefined) {
      if (!isJsonObject(b.backpressure)) throw invalid("backpressure", "must be an object");
      const bp = b.backpressure;
      if (bp.strategy !== undefined && bp.strategy !== "reject") throw invalid("backpressure.strategy", 'only "reject" is supported');
      if (typeof bp.max_depth !== "number") throw invalid("backpressure.max_depth", "must be a positive integer");
      cfg.backpressure = { maxDepth: bp.max_depth, strategy: "reject" };
      if (typeof bp.warning_threshold === "number") cfg.backpressure.warningThreshold = bp.warning_threshold;
    }
    if (isJsonObject(b.rate_limit)) {
      if (typeof b.rate_limit.max_per_second !== "number") throw invalid("rate_limit.max_per_second", "must be a non-negative integer");
      cfg.rateLimitPerSecond = b.rate_limit.max_per_second;
    } else if (b.rate_limit === null) cfg.rateLimitPerSecond = 0;
    if (typeof b.paused === "boolean") cfg.paused = b.paused;
    // The admin API's retention (§6.6), ISO 8601 ages per kind, or our {max_count, max_age}.
    const retention = retentionFromJson(b.retention);
    if (retention !== undefined) cfg.retention = retention;
    const s = await store.configureQueue(req.params.name!, cfg);
    const body: JsonObject = { queue: queueJson(s) };
    if (s.retention) (body.queue as JsonObject).retention = retentionToJson(s.retention);
    return { status: 200, body };
  });

  // Queues, jobs, bulk actions, workers and statistics of the admin-api extension.
  registerAdminApiRoutes(core, router);
}
