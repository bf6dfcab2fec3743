/**
 * The OJS operations the Client calls, each described once: whether repeating
 * it is safe (what the Client's retry policy reads), and where it goes on each
 * binding (HTTP verb and path, ojs.v1 gRPC method, or "http" where the proto
 * has no RPC and the gRPC transport sends it over the HTTP binding).
 *
 * Adding an operation: an entry here, the Transport method, and each binding.
 */

export interface OperationSpec {
  /**
   * Safe to send again after a failure whose outcome is unknown. "keyed": only
   * when every job in the request carries an id or a unique key, so the server
   * folds a repeat into the first.
   */
  idempotent: boolean | "keyed";
  http: { method: "GET" | "POST" | "PUT" | "DELETE"; path: string };
  grpc: `ojs.v1.OJSService/${string}` | "http";
}

export const OPERATIONS = {
  manifest: { idempotent: true, http: { method: "GET", path: "/ojs/manifest" }, grpc: "ojs.v1.OJSService/Manifest" },
  health: { idempotent: true, http: { method: "GET", path: "/ojs/v1/health" }, grpc: "ojs.v1.OJSService/Health" },
  enqueue: { idempotent: "keyed", http: { method: "POST", path: "/ojs/v1/jobs" }, grpc: "ojs.v1.OJSService/Enqueue" },
  enqueueBatch: { idempotent: "keyed", http: { method: "POST", path: "/ojs/v1/jobs/batch" }, grpc: "ojs.v1.OJSService/EnqueueBatch" },
  getJob: { idempotent: true, http: { method: "GET", path: "/ojs/v1/jobs/{id}" }, grpc: "ojs.v1.OJSService/GetJob" },
  cancelJob: { idempotent: false, http: { method: "DELETE", path: "/ojs/v1/jobs/{id}" }, grpc: "ojs.v1.OJSService/CancelJob" },
  createWorkflow: { idempotent: false, http: { method: "POST", path: "/ojs/v1/workflows" }, grpc: "ojs.v1.OJSService/CreateWorkflow" },
  getWorkflow: { idempotent: true, http: { method: "GET", path: "/ojs/v1/workflows/{id}" }, grpc: "ojs.v1.OJSService/GetWorkflow" },
  cancelWorkflow: { idempotent: false, http: { method: "DELETE", path: "/ojs/v1/workflows/{id}" }, grpc: "ojs.v1.OJSService/CancelWorkflow" },
  listQueues: { idempotent: true, http: { method: "GET", path: "/ojs/v1/queues" }, grpc: "ojs.v1.OJSService/ListQueues" },
  queueStats: { idempotent: true, http: { method: "GET", path: "/ojs/v1/queues/{queue}/stats" }, grpc: "ojs.v1.OJSService/QueueStats" },
  // Pausing a paused queue (or resuming a running one) changes nothing.
  pauseQueue: { idempotent: true, http: { method: "POST", path: "/ojs/v1/queues/{queue}/pause" }, grpc: "ojs.v1.OJSService/PauseQueue" },
  resumeQueue: { idempotent: true, http: { method: "POST", path: "/ojs/v1/queues/{queue}/resume" }, grpc: "ojs.v1.OJSService/ResumeQueue" },
  listDeadLetter: { idempotent: true, http: { method: "GET", path: "/ojs/v1/dead-letter" }, grpc: "ojs.v1.OJSService/ListDeadLetter" },
  retryDeadLetter: { idempotent: false, http: { method: "POST", path: "/ojs/v1/dead-letter/{id}/retry" }, grpc: "ojs.v1.OJSService/RetryDeadLetter" },
  deleteDeadLetter: { idempotent: false, http: { method: "DELETE", path: "/ojs/v1/dead-letter/{id}" }, grpc: "ojs.v1.OJSService/DeleteDeadLetter" },
  // An upsert of the schedule `name`.
  registerCron: { idempotent: true, http: { method: "POST", path: "/ojs/v1/cron" }, grpc: "ojs.v1.OJSService/RegisterCron" },
  unregisterCron: { idempotent: false, http: { method: "DELETE", path: "/ojs/v1/cron/{name}" }, grpc: "ojs.v1.OJSService/UnregisterCron" },
  listCron: { idempotent: true, http: { method: "GET", path: "/ojs/v1/cron" }, grpc: "ojs.v1.OJSService/ListCron" },
  listSchemas: { idempotent: true, http: { method: "GET", path: "/ojs/v1/schemas" }, grpc: "http" },
  registerSchema: { idempotent: false, http: { method: "POST", path: "/ojs/v1/schemas" }, grpc: "http" },
  getSchema: { idempotent: true, http: { method: "GET", path: "/ojs/v1/schemas/{type}[/{version}]" }, grpc: "http" },
  deleteSchema: { idempotent: false, http: { method: "DELETE", path: "/ojs/v1/schemas/{type}/{version}" }, grpc: "http" },
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;

/** Whether the Client may retry `op`; `keyed` says whether every job of the request has an id or a unique key. */
export function retrySafe(op: OperationName, keyed = false): boolean {
  const { idempotent } = OPERATIONS[op];
  return idempotent === "keyed" ? keyed : idempotent;
}
