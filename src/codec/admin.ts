/**
 * Queue, dead-letter, cron and schema shapes in JSON and proto, for the
 * transports and the server's adapters alike.
 */
import { create } from "@bufbuild/protobuf";
import type { JsonObject as PbJsonObject } from "@bufbuild/protobuf";
import { QueueInfoSchema, QueueStatisticsSchema, type QueueInfo as PbQueueInfo, type QueueStatistics } from "../../gen/ojs/v1/queue_pb.js";
import { CronEntrySchema, type CronEntry } from "../../gen/ojs/v1/service_pb.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import type { CronJob, Manifest, QueueInfo, QueueStats, SchemaInfo, ProgressInfo } from "../model/system.js";
import { jobRequestFromJson, requestToJson } from "./json.js";
import { optionsFromProto, optionsToProto } from "./proto.js";
import { dateFromTimestamp, formatInstant, parseInstant, timestampFromDate, valueFromJson, valueToJson } from "./values.js";
import { normalizeJobRequest } from "../model/schemas.js";

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

// --- manifest ---------------------------------------------------------------------------

export function manifestToJson(m: Manifest): JsonObject {
  const body: JsonObject = {
    specversion: m.specversion,
    implementation: m.implementation,
    conformance_level: m.conformanceLevel,
    protocols: m.protocols,
    backend: m.backend,
    extensions: m.extensions,
  };
  if (m.schemaValidation !== undefined) body.schema_validation = m.schemaValidation;
  return body;
}

/**
 * Extensions come as a list of names, a list of {name} objects, or (official
 * servers) an object of such lists by group, e.g. {"official": [{"name": ...}]}.
 */
function extensionNames(v: JsonValue | undefined): string[] {
  const names = (list: JsonValue[]) => list.map((x) => (isJsonObject(x) ? String(x.name ?? "") : String(x))).filter(Boolean);
  if (Array.isArray(v)) return names(v);
  if (isJsonObject(v)) return Object.values(v).flatMap((group) => (Array.isArray(group) ? names(group) : []));
  return [];
}

/** Lenient: see extensionNames; the version may be called ojs_version. */
export function manifestFromJson(b: JsonObject): Manifest {
  const impl = isJsonObject(b.implementation) ? b.implementation : {};
  const m: Manifest = {
    specversion: String(b.specversion ?? b.ojs_version ?? ""),
    implementation: { name: String(impl.name ?? ""), version: String(impl.version ?? ""), language: String(impl.language ?? "") },
    conformanceLevel: Number(b.conformance_level ?? 0),
    protocols: Array.isArray(b.protocols) ? b.protocols.map(String) : [],
    backend: String(b.backend ?? ""),
    extensions: extensionNames(b.extensions),
  };
  if (typeof b.schema_validation === "boolean") m.schemaValidation = b.schema_validation;
  return m;
}

// --- queues --------------------------------------------------------------------------

export function queueInfoToJson(q: QueueInfo): JsonObject {
  const o: JsonObject = { name: q.name, paused: q.paused };
  if (q.availableCount !== undefined) o.available = q.availableCount;
  if (q.createdAt) o.created_at = formatInstant(q.createdAt);
  return o;
}

export function queueInfoFromJson(o: JsonObject): QueueInfo {
  const q: QueueInfo = { name: String(o.name ?? ""), paused: o.paused === true || o.status === "paused" };
  const avail = o.available ?? o.available_count ?? o.depth;
  if (typeof avail === "number") q.availableCount = avail;
  const c = parseInstant(o.created_at);
  if (c) q.createdAt = c;
  return q;
}

export function queueInfoToProto(q: QueueInfo): PbQueueInfo {
  const p = create(QueueInfoSchema, { name: q.name, paused: q.paused, availableCount: BigInt(q.availableCount ?? 0) });
  if (q.createdAt) p.createdAt = timestampFromDate(q.createdAt);
  return p;
}

export function queueInfoFromProto(p: PbQueueInfo): QueueInfo {
  const q: QueueInfo = { name: p.name, paused: p.paused, availableCount: Number(p.availableCount) };
  if (p.createdAt) q.createdAt = dateFromTimestamp(p.createdAt);
  return q;
}

/** GET /queues/{name}/stats answers {queue: {name, paused, available, active, ...}} (flat, as the level-4 cases read it). */
export function queueStatsToJson(s: QueueStats, completed: number): JsonObject {
  return {
    name: s.queue,
    paused: s.paused,
    available: s.available,
    active: s.active,
    scheduled: s.scheduled,
    retryable: s.retryable,
    dead: s.dead,
    completed,
    completed_last_hour: s.completedLastHour,
    failed_last_hour: s.failedLastHour,
    avg_duration_ms: s.avgDurationMs,
    avg_wait_ms: s.avgWaitMs,
    throughput_per_second: s.throughputPerSecond,
  };
}

export function queueStatsFromJson(o: JsonObject, name: string): QueueStats {
  // Some servers nest the counts under "stats"; read either.
  const s = isJsonObject(o.stats) ? { ...o, ...o.stats } : o;
  return {
    queue: typeof s.name === "string" ? s.name : typeof s.queue === "string" ? s.queue : name,
    paused: s.paused === true || s.status === "paused",
    available: num(s.available),
    active: num(s.active),
    scheduled: num(s.scheduled),
    retryable: num(s.retryable),
    dead: num(s.dead ?? s.discarded),
    completedLastHour: num(s.completed_last_hour),
    failedLastHour: num(s.failed_last_hour),
    avgDurationMs: num(s.avg_duration_ms),
    avgWaitMs: num(s.avg_wait_ms),
    throughputPerSecond: num(s.throughput_per_second),
  };
}

export function queueStatsToProto(s: QueueStats): QueueStatistics {
  return create(QueueStatisticsSchema, {
    available: BigInt(s.available),
    active: BigInt(s.active),
    scheduled: BigInt(s.scheduled),
    retryable: BigInt(s.retryable),
    dead: BigInt(s.dead),
    completedLastHour: BigInt(s.completedLastHour),
    failedLastHour: BigInt(s.failedLastHour),
    avgDurationMs: s.avgDurationMs,
    avgWaitMs: s.avgWaitMs,
    throughputPerSecond: s.throughputPerSecond,
    paused: s.paused,
  });
}

export function queueStatsFromProto(queue: string, p: QueueStatistics | undefined): QueueStats {
  return {
    queue,
    paused: p?.paused ?? false,
    available: Number(p?.available ?? 0),
    active: Number(p?.active ?? 0),
    scheduled: Number(p?.scheduled ?? 0),
    retryable: Number(p?.retryable ?? 0),
    dead: Number(p?.dead ?? 0),
    completedLastHour: Number(p?.completedLastHour ?? 0),
    failedLastHour: Number(p?.failedLastHour ?? 0),
    avgDurationMs: p?.avgDurationMs ?? 0,
    avgWaitMs: p?.avgWaitMs ?? 0,
    throughputPerSecond: p?.throughputPerSecond ?? 0,
  };
}

// --- cron ------------------------------------------------------------------------------

/** Cron entry JSON: {name, expression, timezone, job_template{type,args,options}, next_run_at, ...}. `extra` adds server fields (enabled, overlap_policy...). */
export function cronToJson(c: CronJob, extra: JsonObject = {}): JsonObject {
  const template = requestToJson({ type: c.type, args: c.args, ...c.options });
  const o: JsonObject = { ...extra, name: c.name, expression: c.cron, timezone: c.timezone, job_template: template };
  if (c.nextRunAt) o.next_run_at = formatInstant(c.nextRunAt);
  if (c.lastRunAt) o.last_run_at = formatInstant(c.lastRunAt);
  return o;
}

export function cronFromJson(o: JsonObject): CronJob {
  const t = isJsonObject(o.job_template) ? o.job_template : isJsonObject(o.job) ? o.job : {};
  const { request } = jobRequestFromJson({
    type: t.type ?? "",
    args: Array.isArray(t.args) ? t.args : [],
    ...(isJsonObject(t.options) ? { options: t.options } : {}),
    ...(t.meta !== undefined ? { meta: t.meta } : {}),
  });
  let options: CronJob["options"] = {};
  try {
    const { type: _t, args: _a, ...rest } = normalizeJobRequest(request, Date.now(), "listCron");
    options = rest;
  } catch {
    // A template this SDK cannot validate is still listed, without its options.
  }
  const c: CronJob = {
    name: String(o.name ?? ""),
    cron: String(o.expression ?? o.cron ?? o.schedule ?? ""),
    timezone: typeof o.timezone === "string" && o.timezone ? o.timezone : "UTC",
    type: String(t.type ?? ""),
    args: Array.isArray(t.args) ? t.args : [],
    options,
  };
  const next = parseInstant(o.next_run_at);
  if (next) c.nextRunAt = next;
  const last = parseInstant(o.last_run_at);
  if (last) c.lastRunAt = last;
  return c;
}

export function cronToProto(c: CronJob): CronEntry {
  const args = c.args.map(valueFromJson);
  const p = create(CronEntrySchema, { name: c.name, cron: c.cron, timezone: c.timezone, type: c.type, args, options: optionsToProto(c.options) });
  if (c.nextRunAt) p.nextRunAt = timestampFromDate(c.nextRunAt);
  if (c.lastRunAt) p.lastRunAt = timestampFromDate(c.lastRunAt);
  return p;
}

export function cronFromProto(p: CronEntry): CronJob {
  const args = p.args.map(valueToJson);
  const c: CronJob = { name: p.name, cron: p.cron, timezone: p.timezone || "UTC", type: p.type, args, options: optionsFromProto(p.options) };
  if (p.nextRunAt) c.nextRunAt = dateFromTimestamp(p.nextRunAt);
  if (p.lastRunAt) c.lastRunAt = dateFromTimestamp(p.lastRunAt);
  return c;
}

// --- schemas, progress ------------------------------------------------------------------

export function schemaFromJson(o: JsonObject): SchemaInfo {
  const s: SchemaInfo = {
    type: String(o.type ?? o.job_type ?? ""),
    version: typeof o.version === "number" || typeof o.version === "string" ? o.version : 1,
    schema: isJsonObject(o.schema) ? o.schema : {},
  };
  const c = parseInstant(o.created_at);
  if (c) s.createdAt = c;
  return s;
}

export function progressFromJson(o: JsonObject, jobId: string): ProgressInfo {
  const p: ProgressInfo = { jobId: typeof o.job_id === "string" ? o.job_id : jobId };
  if (typeof o.progress === "number") p.progress = o.progress;
  if (typeof o.message === "string") p.message = o.message;
  if (isJsonObject(o.data)) p.data = o.data;
  const u = parseInstant(o.updated_at);
  if (u) p.updatedAt = u;
  return p;
}

export type { PbJsonObject };
