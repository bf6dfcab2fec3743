/**
 * The OJS operations of the Transport interface, each described once: whether
 * repeating it is safe (what the Client's retry policy reads), and how each
 * binding carries it (HTTP verb, path and JSON conversion; ojs.v1 RPC and proto
 * conversion). HttpTransport and GrpcTransport are executors over this table:
 * their methods are made from it (./executor.ts), and they write out by hand
 * only the hot paths (the gRPC transport's hand-framed and fast-path calls) and
 * the streams.
 *
 * Adding an operation:
 *  1. its method (with its doc comment) on the Transport interface, ./transport.ts;
 *  2. a row here; the compiler checks the row's conversions against that method;
 *  3. the model conversion in ../codec if none fits, and the HTTP route / RPC on
 *     the server (src/server). test/unit/operation-bindings.test.ts then proves
 *     both transports reach it, and test/unit/operation-calls.ts wants one call.
 *  4. the one-line method in ./executor.ts (the compiler asks for it).
 * The admin-api and webhooks extensions are tables of the same shape, HTTP only:
 * ./http/admin.ts and ./http/webhooks.ts (a row there, and the method on
 * AdminTransport / WebhookTransport; the gRPC transport forwards them).
 */
import { jobFromJson, requestToJson } from "../codec/json.js";
import {
  cronFromProto,
  manifestFromJson,
  progressFromJson,
  queueInfoFromJson,
  queueInfoFromProto,
  queueStatsFromJson,
  queueStatsFromProto,
  schemaFromJson,
} from "../codec/admin.js";
import { checkpointFromJson, checkpointSavedFromJson } from "../codec/checkpoint.js";
import { jobErrorToProto, jobFromProto, optionsToProto, requestToProto, resultToStruct, VISIBILITY_HEADER, workflowFromProto } from "../codec/proto.js";
import { dateFromTimestamp, valueFromJson } from "../codec/values.js";
import { dagToProto, definitionToJson, flattenWorkflow, workflowFromJson } from "../codec/workflow.js";
import { NotFoundError } from "../model/errors.js";
import { isJsonObject, type JsonObject } from "../model/json.js";
import type { NormalizedJobRequest } from "../model/job.js";
import { checkStandard } from "./grpc/calls.js";
import { healthFromResponse, manifestFromProto, nackErrorForProto, nackResultFromProto, pageFrom } from "./grpc/messages.js";
import * as json from "./http/messages.js";
import { pageOf, pageQuery } from "./http/query.js";
import type { OperationTable } from "./operation-spec.js";
import type { AckRequest } from "./transport.js";

const workflowOf = (b: JsonObject) => workflowFromJson(json.unwrap(b, "workflow"));
const ackToProto = (req: AckRequest) => (req.result === undefined ? { jobId: req.jobId } : { jobId: req.jobId, result: resultToStruct(req.result) });

/** Whether the server is ours; a request for another server must fit the standard messages. */
function standardFor(req: NormalizedJobRequest, ours: boolean, operation: string): boolean {
  if (!ours) checkStandard(req, operation);
  return ours;
}

export const OPERATIONS = {
  manifest: {
    idempotent: true,
    args: 0,
    http: { method: "GET", path: "/ojs/manifest", response: manifestFromJson },
    grpc: { rpc: "manifest", request: () => ({}), response: manifestFromProto },
  },
  health: {
    idempotent: true,
    args: 0,
    // 503 with a body is an answer ("unhealthy"), not a transport failure.
    http: { method: "GET", path: "/ojs/v1/health", answers: [503], response: json.healthFromJson },
    grpc: { rpc: "health", request: () => ({}), response: healthFromResponse },
  },

  enqueue: {
    idempotent: "keyed",
    args: 1,
    http: { method: "POST", path: "/ojs/v1/jobs", request: json.bodyOf(requestToJson), response: json.jobOf },
    grpc: {
      rpc: "enqueue",
      request: async ([req], s) => requestToProto(req, Date.now(), standardFor(req, await s.ours(), "enqueue")),
      response: (r) => jobFromProto(r.job!),
      framed: (calls, [req], o, ours) => calls.enqueue(req, standardFor(req, ours, "enqueue"), o),
    },
  },
  enqueueBatch: {
    idempotent: "keyed",
    args: 1,
    http: {
      method: "POST",
      path: "/ojs/v1/jobs/batch",
      request: ([reqs]) => ({ body: { jobs: reqs.map(requestToJson) } }),
      response: (b) => json.listOf(b, "jobs", jobFromJson),
    },
    grpc: {
      rpc: "enqueueBatch",
      request: async ([reqs], s) => {
        const [now, ours] = [Date.now(), await s.ours()];
        return { jobs: reqs.map((q) => ({ type: q.type, args: q.args.map(valueFromJson), options: optionsToProto(q, now, ours) })) };
      },
      response: (r) => r.jobs.map(jobFromProto),
    },
  },
  getJob: {
    idempotent: true,
    args: 1,
    http: { method: "GET", path: "/ojs/v1/jobs/{id}", request: json.byId, response: json.jobOf },
    grpc: { rpc: "getJob", request: ([id]) => ({ jobId: id }), response: (r) => jobFromProto(r.job!), framed: (calls, [id], o) => calls.getJob(id, o) },
  },
  cancelJob: {
    idempotent: false,
    args: 1,
    http: { method: "DELETE", path: "/ojs/v1/jobs/{id}", request: json.byId, response: json.jobOf },
    grpc: { rpc: "cancelJob", request: ([id]) => ({ jobId: id }), response: (r) => jobFromProto(r.job!) },
  },

  // --- the worker's side: claims, settles and heartbeats change the server's state --------
  fetch: {
    idempotent: false,
    args: 1,
    http: {
      method: "POST",
      path: "/ojs/v1/workers/fetch",
      // The server may hold a long poll for waitMs: the deadline must outlast it.
      request: ([req]) => ({ body: json.fetchBody(req), ...(req.waitMs ? { minTimeoutMs: req.waitMs + 10_000 } : {}) }),
      response: (b) => json.listOf(b, "jobs", jobFromJson),
    },
    grpc: {
      rpc: "fetch",
      request: ([req]) => ({ queues: req.queues, count: req.count, workerId: req.workerId }),
      headers: ([req]) => (req.visibilityTimeoutMs ? { [VISIBILITY_HEADER]: String(req.visibilityTimeoutMs) } : undefined),
      response: (r) => r.jobs.map(jobFromProto),
      framed: (calls, [req], o) => calls.fetch(req, o),
    },
  },
  ack: {
    idempotent: false,
    args: 1,
    http: { method: "POST", path: "/ojs/v1/workers/ack", request: json.bodyOf(json.ackBody), response: json.none },
    grpc: { rpc: "ack", request: ([req]) => ackToProto(req), response: json.none, framed: (calls, [req], o) => calls.ack(req, o) },
  },
  nack: {
    idempotent: false,
    args: 1,
    http: { method: "POST", path: "/ojs/v1/workers/nack", request: json.bodyOf(json.nackBody), response: json.nackResultFromJson },
    grpc: {
      rpc: "nack",
      request: ([req]) => ({ jobId: req.jobId, error: jobErrorToProto(nackErrorForProto(req)) }),
      response: nackResultFromProto,
      framed: (calls, [req], o) => calls.nack(req, o),
    },
  },
  // Extending a reservation again changes nothing more. gRPC: one Heartbeat per active job (./grpc/heartbeat.ts).
  heartbeat: {
    idempotent: true,
    args: 1,
    http: {
      method: "POST",
      path: "/ojs/v1/workers/heartbeat",
      request: json.bodyOf(json.heartbeatBody),
      response: (b, [req]) => json.heartbeatResultFromJson(b, req),
    },
    grpc: "own",
  },

  // --- workflows ---------------------------------------------------------------------------
  createWorkflow: {
    idempotent: false,
    args: 1,
    http: {
      method: "POST",
      path: "/ojs/v1/workflows",
      request: json.bodyOf(definitionToJson),
      response: (b) => workflowFromJson(json.unwrap(b, "workflow")),
    },
    grpc: {
      rpc: "createWorkflow",
      request: async ([def], s) => {
        const flat = flattenWorkflow(def);
        const ours = await s.ours();
        if (!ours) for (const step of flat.steps) checkStandard(step.request, "createWorkflow");
        return dagToProto(flat.name, flat.steps, Date.now(), ours);
      },
      response: (r) => workflowFromProto(r.workflow!),
    },
  },
  getWorkflow: {
    idempotent: true,
    args: 1,
    http: { method: "GET", path: "/ojs/v1/workflows/{id}", request: json.byId, response: workflowOf },
    grpc: { rpc: "getWorkflow", request: ([id]) => ({ workflowId: id }), response: (r) => workflowFromProto(r.workflow!) },
  },
  cancelWorkflow: {
    idempotent: false,
    args: 1,
    http: { method: "DELETE", path: "/ojs/v1/workflows/{id}", request: json.byId, response: workflowOf },
    grpc: { rpc: "cancelWorkflow", request: ([id]) => ({ workflowId: id }), response: (r) => workflowFromProto(r.workflow!) },
  },

  // --- queues --------------------------------------------------------------------------------
  listQueues: {
    idempotent: true,
    args: 1,
    http: {
      method: "GET",
      path: "/ojs/v1/queues",
      request: ([page = {}]) => ({ query: pageQuery(page) }),
      response: (b) => pageOf(b, json.listOf(b, "queues", queueInfoFromJson)),
    },
    grpc: {
      rpc: "listQueues",
      request: ([page = {}]) => ({ limit: page.limit ?? 0, cursor: page.cursor ?? "" }),
      response: (r) => pageFrom(r.queues.map(queueInfoFromProto), r.nextCursor),
    },
  },
  queueStats: {
    idempotent: true,
    args: 1,
    http: {
      method: "GET",
      path: "/ojs/v1/queues/{queue}/stats",
      request: ([queue]) => ({ params: { queue } }),
      response: (b, [queue]) => queueStatsFromJson(json.unwrap(b, "queue"), queue),
    },
    grpc: { rpc: "queueStats", request: ([queue]) => ({ queue }), response: (r, [queue]) => queueStatsFromProto(r.queue || queue, r.stats) },
  },
  // Pausing a paused queue (or resuming a running one) changes nothing.
  pauseQueue: {
    idempotent: true,
    args: 1,
    http: { method: "POST", path: "/ojs/v1/queues/{queue}/pause", request: ([queue]) => ({ params: { queue }, body: {} }), response: json.none },
    grpc: { rpc: "pauseQueue", request: ([queue]) => ({ queue }), response: json.none },
  },
  resumeQueue: {
    idempotent: true,
    args: 1,
    http: { method: "POST", path: "/ojs/v1/queues/{queue}/resume", request: ([queue]) => ({ params: { queue }, body: {} }), response: json.none },
    grpc: { rpc: "resumeQueue", request: ([queue]) => ({ queue }), response: json.none },
  },

  // --- dead letter -------------------------------------------------------------------------
  listDeadLetter: {
    idempotent: true,
    args: 1,
    http: {
      method: "GET",
      path: "/ojs/v1/dead-letter",
      request: ([req = {}]) => ({ query: pageQuery(req, req.queue) }),
      response: (b) => pageOf(b, json.listOf(b, "jobs", jobFromJson)),
    },
    grpc: {
      rpc: "listDeadLetter",
      request: ([req = {}]) => ({ queue: req.queue ?? "", limit: req.limit ?? 0, cursor: req.cursor ?? "" }),
      response: (r) => pageFrom(r.jobs.map(jobFromProto), r.nextCursor, r.totalCount),
    },
  },
  retryDeadLetter: {
    idempotent: false,
    args: 1,
    http: { method: "POST", path: "/ojs/v1/dead-letter/{id}/retry", request: ([id]) => ({ params: { id }, body: {} }), response: json.jobOf },
    grpc: { rpc: "retryDeadLetter", request: ([id]) => ({ jobId: id }), response: (r) => jobFromProto(r.job!) },
  },
  deleteDeadLetter: {
    idempotent: false,
    args: 1,
    http: { method: "DELETE", path: "/ojs/v1/dead-letter/{id}", request: json.byId, response: json.none },
    grpc: { rpc: "deleteDeadLetter", request: ([id]) => ({ jobId: id }), response: json.none },
  },

  // --- cron ----------------------------------------------------------------------------------
  // An upsert of the schedule `name`.
  registerCron: {
    idempotent: true,
    args: 1,
    http: {
      method: "POST",
      path: "/ojs/v1/cron",
      request: json.bodyOf(json.cronBody),
      response: (b, [req]) => json.cronRegisteredFromJson(b, req),
    },
    grpc: {
      rpc: "registerCron",
      request: async ([req], s) => ({
        name: req.name,
        cron: req.cron,
        timezone: req.timezone ?? "",
        type: req.type,
        args: req.args.map(valueFromJson),
        options: optionsToProto(req.options, Date.now(), await s.ours()),
      }),
      response: (r, [req]) => (r.nextRunAt ? { name: r.name || req.name, nextRunAt: dateFromTimestamp(r.nextRunAt) } : { name: r.name || req.name }),
    },
  },
  unregisterCron: {
    idempotent: false,
    args: 1,
    http: { method: "DELETE", path: "/ojs/v1/cron/{name}", request: ([name]) => ({ params: { name } }), response: json.none },
    grpc: { rpc: "unregisterCron", request: ([name]) => ({ name }), response: json.none },
  },
  listCron: {
    idempotent: true,
    args: 0,
    http: { method: "GET", path: "/ojs/v1/cron", response: json.cronListFromJson },
    grpc: { rpc: "listCron", request: () => ({}), response: (r) => r.entries.map(cronFromProto) },
  },

  // --- schemas, progress, checkpoints: ojs.v1 has no RPC for them ---------------------------
  listSchemas: {
    idempotent: true,
    args: 0,
    http: { method: "GET", path: "/ojs/v1/schemas", response: (b) => json.listOf(b, "schemas", schemaFromJson) },
    grpc: "http",
  },
  registerSchema: {
    idempotent: false,
    args: 1,
    http: {
      method: "POST",
      path: "/ojs/v1/schemas",
      request: ([s]) => ({ body: { type: s.type, job_type: s.type, version: s.version, schema: s.schema } }),
      response: (b) => schemaFromJson(isJsonObject(b.schema) && "schema" in b.schema ? b.schema : b),
    },
    grpc: "http",
  },
  getSchema: {
    idempotent: true,
    args: 2,
    http: {
      method: "GET",
      path: "/ojs/v1/schemas/{type}[/{version}]",
      request: ([type, version]) => ({ params: { type, version } }),
      response: schemaFromJson,
    },
    grpc: "http",
  },
  deleteSchema: {
    idempotent: false,
    args: 2,
    http: { method: "DELETE", path: "/ojs/v1/schemas/{type}/{version}", request: ([type, version]) => ({ params: { type, version } }), response: json.none },
    grpc: "http",
  },
  // The latest progress replaces the one before.
  reportProgress: {
    idempotent: true,
    args: 2,
    http: {
      method: "PUT",
      path: "/ojs/v1/jobs/{id}/progress",
      request: ([id, update]) => ({ params: { id }, body: json.progressBody(update) }),
      response: json.none,
    },
    grpc: "http",
  },
  getProgress: {
    idempotent: true,
    args: 1,
    http: { method: "GET", path: "/ojs/v1/jobs/{id}/progress", request: json.byId, response: (b, [id]) => progressFromJson(b, id) },
    grpc: "http",
  },
  // A checkpoint replaces the one before.
  saveCheckpoint: {
    idempotent: true,
    args: 2,
    http: {
      method: "PUT",
      path: "/ojs/v1/jobs/{id}/checkpoint",
      request: ([id, state, opts]) => ({ params: { id }, body: { state, ...(opts?.workerId ? { worker_id: opts.workerId } : {}) } }),
      response: (b, [id]) => checkpointSavedFromJson(b, id),
    },
    grpc: "http",
  },
  getCheckpoint: {
    idempotent: true,
    args: 1,
    http: {
      method: "GET",
      path: "/ojs/v1/jobs/{id}/checkpoint",
      request: json.byId,
      response: (b, [id]) => checkpointFromJson(b, id),
      // Our server says which 404 it is; the job's own 404 stays an error.
      recover: (e) => (e instanceof NotFoundError && e.details?.["reason"] === "no_checkpoint" ? { value: undefined } : undefined),
    },
    grpc: "http",
  },
  deleteCheckpoint: {
    idempotent: false,
    args: 1,
    http: { method: "DELETE", path: "/ojs/v1/jobs/{id}/checkpoint", request: json.byId, response: (b) => b.deleted !== false },
    grpc: "http",
  },
} as const satisfies OperationTable;

export type OperationName = keyof typeof OPERATIONS;

/** Whether the Client may retry `op`; `keyed` says whether every job of the request has an id or a unique key. */
export function retrySafe(op: OperationName, keyed = false): boolean {
  const { idempotent } = OPERATIONS[op];
  return idempotent === "keyed" ? keyed : idempotent;
}
