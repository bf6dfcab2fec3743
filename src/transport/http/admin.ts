/** The admin-api extension over the HTTP binding: every operation is one request under /ojs/v1/admin/. */
import {
  adminQueueFromJson,
  adminWorkerFromJson,
  bulkResultFromJson,
  filterToJson,
  historyFromJson,
  listQuery,
  pageFromJson,
  purgeResultFromJson,
  queueDetailFromJson,
  statsFromJson,
  workerListFromJson,
} from "../../codec/admin-api.js";
import { jobFromJson } from "../../codec/json.js";
import { normalizeRetention, retentionModelFromJson, retentionToJson } from "../../codec/retention.js";
import type { QueueRetention } from "../../model/retention.js";
import { formatInstant } from "../../codec/values.js";
import type { AdminPage, AdminQueue, BulkAction, HistoryOptions, JobFilter, JobListOptions, PageOptions } from "../../model/admin.js";
import type { Job, JobState } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import type { AdminTransport } from "../admin.js";
import type { CallOptions } from "../transport.js";

/** What this needs of the HTTP transport: one JSON call that throws the OJS error of a non-2xx answer. */
export interface JsonCaller {
  call(method: string, path: string, body: JsonValue | undefined, opts: CallOptions | undefined, operation: string): Promise<JsonObject>;
}

const BASE = "/ojs/v1/admin";
const enc = encodeURIComponent;

function pageQuery(p: PageOptions): string {
  const q = new URLSearchParams();
  if (p.page !== undefined) q.set("page", String(p.page));
  if (p.perPage !== undefined) q.set("per_page", String(p.perPage));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** A single-object answer, bare (§6.2) or wrapped by servers that say {worker: {...}}. */
function unwrap(b: JsonObject, key: string): JsonObject {
  const inner = b[key];
  return isJsonObject(inner) ? inner : b;
}

const DIRECTIVE_ROUTES: Record<WorkerDirective, string> = { quiet: "quiet", terminate: "terminate", running: "resume" };

export class HttpAdmin implements AdminTransport {
  constructor(private readonly http: JsonCaller) {}

  async listQueues(opts: PageOptions, call?: CallOptions): Promise<AdminPage<AdminQueue>> {
    return pageFromJson(await this.http.call("GET", `${BASE}/queues${pageQuery(opts)}`, undefined, call, "admin.listQueues"), adminQueueFromJson);
  }
  async getQueue(name: string, call?: CallOptions) {
    return queueDetailFromJson(await this.http.call("GET", `${BASE}/queues/${enc(name)}`, undefined, call, "admin.getQueue"));
  }
  async pauseQueue(name: string, call?: CallOptions): Promise<void> {
    await this.http.call("POST", `${BASE}/queues/${enc(name)}/pause`, {}, call, "admin.pauseQueue");
  }
  async resumeQueue(name: string, call?: CallOptions): Promise<void> {
    await this.http.call("POST", `${BASE}/queues/${enc(name)}/resume`, {}, call, "admin.resumeQueue");
  }
  async purgeQueue(name: string, req: { states: JobState[]; olderThan?: Date; confirm: boolean; limit?: number }, call?: CallOptions) {
    const body: JsonObject = { states: req.states, confirm: req.confirm };
    if (req.olderThan) body.older_than = formatInstant(req.olderThan);
    if (req.limit !== undefined) body.limit = req.limit;
    return purgeResultFromJson(await this.http.call("DELETE", `${BASE}/queues/${enc(name)}/jobs`, body, call, "admin.purgeQueue"));
  }

  async setQueueRetention(name: string, retention: QueueRetention | null, call?: CallOptions): Promise<QueueRetention | undefined> {
    const n = retention === null ? null : normalizeRetention(retention);
    const body: JsonObject = { retention: n ? retentionToJson(n) : null };
    const b = await this.http.call("PUT", `${BASE}/queues/${enc(name)}/config`, body, call, "admin.setQueueRetention");
    return retentionModelFromJson(unwrap(b, "queue").retention);
  }

  async listJobs(opts: JobListOptions, call?: CallOptions): Promise<AdminPage<Job>> {
    return pageFromJson(await this.http.call("GET", `${BASE}/jobs${listQuery(opts)}`, undefined, call, "admin.listJobs"), jobFromJson);
  }
  async getJob(id: string, call?: CallOptions): Promise<Job> {
    return jobFromJson(unwrap(await this.http.call("GET", `${BASE}/jobs/${enc(id)}`, undefined, call, "admin.getJob"), "job"));
  }
  async cancelJob(id: string, call?: CallOptions): Promise<Job> {
    return jobFromJson(unwrap(await this.http.call("POST", `${BASE}/jobs/${enc(id)}/cancel`, {}, call, "admin.cancelJob"), "job"));
  }
  async retryJob(id: string, call?: CallOptions): Promise<Job> {
    return jobFromJson(unwrap(await this.http.call("POST", `${BASE}/jobs/${enc(id)}/retry`, {}, call, "admin.retryJob"), "job"));
  }
  async deleteJob(id: string, call?: CallOptions): Promise<void> {
    await this.http.call("DELETE", `${BASE}/jobs/${enc(id)}`, undefined, call, "admin.deleteJob");
  }
  async bulk(action: BulkAction, filter: JobFilter, req: { confirm: boolean; limit?: number }, call?: CallOptions) {
    const body: JsonObject = { filter: filterToJson(filter), confirm: req.confirm };
    if (req.limit !== undefined) body.limit = req.limit;
    return bulkResultFromJson(
      await this.http.call("POST", `${BASE}/jobs/bulk/${action}`, body, call, `admin.bulk${action[0]!.toUpperCase()}${action.slice(1)}`),
      action,
    );
  }
  async purgeDeadLetter(req: { queue?: string; olderThan?: Date; confirm: boolean }, call?: CallOptions) {
    const body: JsonObject = { confirm: req.confirm };
    if (req.queue !== undefined) body.queue = req.queue;
    if (req.olderThan) body.older_than = formatInstant(req.olderThan);
    return purgeResultFromJson(await this.http.call("DELETE", `${BASE}/dead-letter`, body, call, "admin.purgeDeadLetter"));
  }

  async listWorkers(opts: PageOptions, call?: CallOptions) {
    return workerListFromJson(await this.http.call("GET", `${BASE}/workers${pageQuery(opts)}`, undefined, call, "admin.listWorkers"));
  }
  async getWorker(id: string, call?: CallOptions) {
    return adminWorkerFromJson(unwrap(await this.http.call("GET", `${BASE}/workers/${enc(id)}`, undefined, call, "admin.getWorker"), "worker"));
  }
  async directWorker(id: string, directive: WorkerDirective, call?: CallOptions) {
    const b = await this.http.call("POST", `${BASE}/workers/${enc(id)}/${DIRECTIVE_ROUTES[directive]}`, {}, call, "admin.directWorker");
    return adminWorkerFromJson(unwrap(b, "worker"));
  }

  async stats(call?: CallOptions) {
    return statsFromJson(await this.http.call("GET", `${BASE}/stats`, undefined, call, "admin.stats"));
  }
  async statsHistory(opts: HistoryOptions, call?: CallOptions) {
    const q = new URLSearchParams();
    if (opts.period) q.set("period", opts.period);
    if (opts.queue !== undefined) q.set("queue", opts.queue);
    if (opts.since) q.set("since", formatInstant(opts.since));
    if (opts.until) q.set("until", formatInstant(opts.until));
    const s = q.toString();
    return historyFromJson(await this.http.call("GET", `${BASE}/stats/history${s ? `?${s}` : ""}`, undefined, call, "admin.statsHistory"));
  }
}
