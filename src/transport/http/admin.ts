/**
 * The admin-api extension over the HTTP binding, as a table: one request under
 * /ojs/v1/admin per operation, each row its verb, path and JSON conversion
 * (./extension-table.ts).
 */
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
import { formatInstant } from "../../codec/values.js";
import type { PageOptions } from "../../model/admin.js";
import type { JsonObject } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import type { AdminTransport } from "../admin.js";
import { bindTable, type BindingCaller, type ExtensionTable } from "./extension-table.js";
import { byId, byIdPost, none, unwrap } from "./messages.js";
import { query } from "./query.js";

const pageQuery = (p: PageOptions) => query({ page: p.page, per_page: p.perPage });
const byName = ([name]: readonly [string, ...unknown[]]) => ({ params: { name } });
const action = ([name]: readonly [string, ...unknown[]]) => ({ params: { name }, body: {} });
const jobOf = (b: JsonObject) => jobFromJson(unwrap(b, "job"));
const workerOf = (b: JsonObject) => adminWorkerFromJson(unwrap(b, "worker"));
const DIRECTIVE_ROUTES: Record<WorkerDirective, string> = { quiet: "quiet", terminate: "terminate", running: "resume" };
type Args<K extends keyof AdminTransport> = Parameters<AdminTransport[K]>;

/** Writes only what is given: an absent option is not sent. */
function defined(o: Record<string, JsonObject[string] | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

// The requests that carry more than a name or an id: what each sends.
const paged = ([p]: readonly [PageOptions, ...unknown[]]) => ({ query: pageQuery(p) });
const purgeQueueRequest = ([name, r]: Args<"purgeQueue">) => ({
  params: { name },
  body: defined({ states: r.states, confirm: r.confirm, older_than: r.olderThan && formatInstant(r.olderThan), limit: r.limit }),
});
const retentionRequest = ([name, retention]: Args<"setQueueRetention">) => {
  const n = retention === null ? null : normalizeRetention(retention);
  return { params: { name }, body: { retention: n ? retentionToJson(n) : null } };
};
const bulkRequest = ([action, filter, r]: Args<"bulk">) => ({
  params: { action },
  body: defined({ filter: filterToJson(filter), confirm: r.confirm, limit: r.limit }),
});
const purgeDeadLetterRequest = ([r]: Args<"purgeDeadLetter">) => ({
  body: defined({ confirm: r.confirm, queue: r.queue, older_than: r.olderThan && formatInstant(r.olderThan) }),
});
const directiveRequest = ([id, directive]: Args<"directWorker">) => ({ params: { id, directive: DIRECTIVE_ROUTES[directive] }, body: {} });
const historyRequest = ([o]: Args<"statsHistory">) => ({
  query: query({ period: o.period, queue: o.queue, since: o.since && formatInstant(o.since), until: o.until && formatInstant(o.until) }),
});
const retentionOf = (b: JsonObject) => retentionModelFromJson(unwrap(b, "queue").retention);
const bulkResult = (b: JsonObject, [action]: Args<"bulk">) => bulkResultFromJson(b, action);
const bulkOperation = ([action]: Args<"bulk">) => `admin.bulk${action[0]!.toUpperCase()}${action.slice(1)}`;

export const ADMIN_OPERATIONS: ExtensionTable<AdminTransport> = {
  listQueues: { args: 1, method: "GET", path: "/ojs/v1/admin/queues", request: paged, response: (b) => pageFromJson(b, adminQueueFromJson) },
  getQueue: { args: 1, method: "GET", path: "/ojs/v1/admin/queues/{name}", request: byName, response: queueDetailFromJson },
  pauseQueue: { args: 1, method: "POST", path: "/ojs/v1/admin/queues/{name}/pause", request: action, response: none },
  resumeQueue: { args: 1, method: "POST", path: "/ojs/v1/admin/queues/{name}/resume", request: action, response: none },
  purgeQueue: { args: 2, method: "DELETE", path: "/ojs/v1/admin/queues/{name}/jobs", request: purgeQueueRequest, response: purgeResultFromJson },
  setQueueRetention: { args: 2, method: "PUT", path: "/ojs/v1/admin/queues/{name}/config", request: retentionRequest, response: retentionOf },

  listJobs: { args: 1, method: "GET", path: "/ojs/v1/admin/jobs", request: ([o]) => ({ query: listQuery(o) }), response: (b) => pageFromJson(b, jobFromJson) },
  getJob: { args: 1, method: "GET", path: "/ojs/v1/admin/jobs/{id}", request: byId, response: jobOf },
  cancelJob: { args: 1, method: "POST", path: "/ojs/v1/admin/jobs/{id}/cancel", request: byIdPost, response: jobOf },
  retryJob: { args: 1, method: "POST", path: "/ojs/v1/admin/jobs/{id}/retry", request: byIdPost, response: jobOf },
  deleteJob: { args: 1, method: "DELETE", path: "/ojs/v1/admin/jobs/{id}", request: byId, response: none },
  bulk: { args: 3, method: "POST", path: "/ojs/v1/admin/jobs/bulk/{action}", request: bulkRequest, response: bulkResult, operation: bulkOperation },
  purgeDeadLetter: { args: 1, method: "DELETE", path: "/ojs/v1/admin/dead-letter", request: purgeDeadLetterRequest, response: purgeResultFromJson },

  listWorkers: { args: 1, method: "GET", path: "/ojs/v1/admin/workers", request: paged, response: workerListFromJson },
  getWorker: { args: 1, method: "GET", path: "/ojs/v1/admin/workers/{id}", request: byId, response: workerOf },
  directWorker: { args: 2, method: "POST", path: "/ojs/v1/admin/workers/{id}/{directive}", request: directiveRequest, response: workerOf },

  stats: { args: 0, method: "GET", path: "/ojs/v1/admin/stats", response: statsFromJson },
  statsHistory: { args: 1, method: "GET", path: "/ojs/v1/admin/stats/history", request: historyRequest, response: historyFromJson },
};

export function httpAdmin(http: BindingCaller): AdminTransport {
  return bindTable(ADMIN_OPERATIONS, "admin", http);
}
