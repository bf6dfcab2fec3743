/**
 * Who may call what: the one table of roles, the permissions each grants, and
 * the permission every HTTP route and every gRPC method needs. An operation has
 * the same permission whichever binding or path serves it (a dead-letter retry
 * needs `admin` at /ojs/v1/dead-letter, at /ojs/v1/admin/dead-letter and over
 * gRPC). test/server/auth-table.test.ts checks that every route of the router
 * and every method of the service descriptors has a rule here, so a new route
 * without one fails the suite.
 */

/** The roles a key or client certificate can hold, from most to least powerful. */
export const ROLES = ["admin", "producer", "worker", "readonly"] as const;
/** One of {@link ROLES}: admin (everything), producer (enqueue and read), worker (read, fetch and settle), readonly (read). */
export type Role = (typeof ROLES)[number];

/**
 * - `public`: no credentials (health and readiness probes, the dashboard's static files).
 * - `metrics`: `/metrics`; public when the server says so, else `read`.
 * - `read`: read jobs, queues, events, workflows, cron, schemas, workers, stats.
 * - `enqueue`: create and cancel jobs and workflows.
 * - `work`: fetch, stream, ack, nack and heartbeat jobs, report progress.
 * - `admin`: change the server: pause queues, dead letter, cron, schemas, worker directives, queue config.
 */
export type Permission = "public" | "metrics" | "read" | "enqueue" | "work" | "admin";

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ["read", "enqueue", "work", "admin"],
  producer: ["read", "enqueue"],
  worker: ["read", "work"],
  readonly: ["read"],
};

/** Roles that grant a permission, for error messages: "worker or admin", "readonly, producer, worker or admin". */
export function rolesGranting(p: Permission): string {
  const roles = ROLES.filter((r) => r !== "admin" && ROLE_PERMISSIONS[r].includes(p));
  return roles.length ? `${roles.join(", ")} or admin` : "admin";
}

/** Every route of the HTTP binding, keyed as the router names it: "METHOD /pattern". */
export const HTTP_RULES: Record<string, Permission> = {
  // system
  "GET /ojs/manifest": "read",
  "GET /ojs/v1/health": "public",
  "GET /health": "public",
  "GET /ready": "public",
  "GET /metrics": "metrics",
  // jobs
  "POST /ojs/v1/jobs": "enqueue",
  "POST /ojs/v1/jobs/batch": "enqueue",
  "GET /ojs/v1/jobs/:id": "read",
  "DELETE /ojs/v1/jobs/:id": "enqueue",
  "GET /ojs/v1/jobs/:id/progress": "read",
  "PUT /ojs/v1/jobs/:id/progress": "work",
  "GET /ojs/v1/jobs/:id/events": "read",
  // durable-execution extension: workers save and clear checkpoints, anyone who reads jobs reads them
  "GET /ojs/v1/jobs/:id/checkpoint": "read",
  "PUT /ojs/v1/jobs/:id/checkpoint": "work",
  "POST /ojs/v1/jobs/:id/checkpoint": "work",
  "DELETE /ojs/v1/jobs/:id/checkpoint": "work",
  // workers
  "POST /ojs/v1/workers/fetch": "work",
  "POST /ojs/v1/workers/ack": "work",
  "POST /ojs/v1/jobs/:id/ack": "work",
  "POST /ojs/v1/workers/nack": "work",
  "POST /ojs/v1/workers/heartbeat": "work",
  "POST /ojs/v1/workers/beat": "work",
  "GET /ojs/v1/workers/:id/health": "read",
  // events
  "GET /ojs/v1/events": "read",
  "GET /ojs/v1/events/stream": "read",
  // rate-limiting extension
  "GET /ojs/v1/rate-limits": "read",
  "GET /ojs/v1/rate-limits/:key": "read",
  "PUT /ojs/v1/rate-limits/:key": "admin",
  // webhooks extension
  "POST /ojs/v1/webhooks/subscriptions": "admin",
  "GET /ojs/v1/webhooks/subscriptions": "read",
  "GET /ojs/v1/webhooks/subscriptions/:id": "read",
  "PATCH /ojs/v1/webhooks/subscriptions/:id": "admin",
  "DELETE /ojs/v1/webhooks/subscriptions/:id": "admin",
  "POST /ojs/v1/webhooks/subscriptions/:id/test": "admin",
  "POST /ojs/v1/webhooks/subscriptions/:id/rotate-secret": "admin",
  "GET /ojs/v1/webhooks/deliveries": "read",
  "GET /ojs/v1/webhooks/deliveries/:id": "read",
  "POST /ojs/v1/webhooks/deliveries/:id/retry": "admin",
  // multi-tenancy extension
  "GET /ojs/v1/admin/tenants": "read",
  "GET /ojs/v1/admin/tenants/:id/stats": "read",
  "PUT /ojs/v1/admin/tenants/:id/limits": "admin",
  // queues
  "GET /ojs/v1/queues": "read",
  "GET /ojs/v1/queues/:name/stats": "read",
  "POST /ojs/v1/queues/:name/pause": "admin",
  "POST /ojs/v1/queues/:name/resume": "admin",
  "GET /ojs/v1/queues/:name/events": "read",
  // dead letter (two paths for one operation)
  "GET /ojs/v1/dead-letter": "read",
  "POST /ojs/v1/dead-letter/:id/retry": "admin",
  "DELETE /ojs/v1/dead-letter/:id": "admin",
  "GET /ojs/v1/admin/dead-letter": "read",
  "GET /ojs/v1/admin/dead-letter/stats": "read",
  "POST /ojs/v1/admin/dead-letter/:id/retry": "admin",
  "DELETE /ojs/v1/admin/dead-letter/:id": "admin",
  // cron
  "GET /ojs/v1/cron": "read",
  "POST /ojs/v1/cron": "admin",
  "GET /ojs/v1/cron/:name": "read",
  "PATCH /ojs/v1/cron/:name": "admin",
  "DELETE /ojs/v1/cron/:name": "admin",
  // workflows
  "POST /ojs/v1/workflows": "enqueue",
  "GET /ojs/v1/workflows/:id": "read",
  "DELETE /ojs/v1/workflows/:id": "enqueue",
  "GET /ojs/v1/workflows/:id/events": "read",
  // schemas (two paths for one registry)
  ...schemaRules("/ojs/v1/schemas"),
  ...schemaRules("/ojs/v1/admin/schemas"),
  // admin
  "GET /ojs/v1/admin/workers": "read",
  "GET /ojs/v1/admin/workers/:id": "read",
  "POST /ojs/v1/admin/workers/:id/quiet": "admin",
  "POST /ojs/v1/admin/workers/:id/terminate": "admin",
  "POST /ojs/v1/admin/workers/:id/resume": "admin",
  "DELETE /ojs/v1/admin/workers/:id": "admin",
  "PUT /ojs/v1/admin/queues/:name/config": "admin",
  "GET /ojs/v1/admin/stats": "read",
  "GET /ojs/v1/admin/stats/history": "read",
  // admin API: queues (pause and resume as under /ojs/v1/queues), jobs, bulk actions, purges
  "GET /ojs/v1/admin/queues": "read",
  "GET /ojs/v1/admin/queues/:name": "read",
  "POST /ojs/v1/admin/queues/:name/pause": "admin",
  "POST /ojs/v1/admin/queues/:name/resume": "admin",
  "DELETE /ojs/v1/admin/queues/:name/jobs": "admin",
  "GET /ojs/v1/admin/jobs": "read",
  "GET /ojs/v1/admin/jobs/:id": "read",
  // the same operation as DELETE /ojs/v1/jobs/:id
  "POST /ojs/v1/admin/jobs/:id/cancel": "enqueue",
  // the same operation as a dead-letter retry
  "POST /ojs/v1/admin/jobs/:id/retry": "admin",
  "DELETE /ojs/v1/admin/jobs/:id": "admin",
  "POST /ojs/v1/admin/jobs/bulk/retry": "admin",
  "POST /ojs/v1/admin/jobs/bulk/cancel": "admin",
  "POST /ojs/v1/admin/jobs/bulk/delete": "admin",
  "DELETE /ojs/v1/admin/dead-letter": "admin",
  "GET /ojs/v1/admin/workflows": "read",
  // the dashboard's static files: a browser loads them before it has a key; its data
  // comes through the routes above, under their rules
  "GET /ui": "public",
  "GET /ui/:file": "public",
  // conformance runner's reset between cases (404 unless conformance hooks are on)
  "POST /ojs/v1/admin/reset": "admin",
};

function schemaRules(base: string): Record<string, Permission> {
  return {
    [`GET ${base}`]: "read",
    [`POST ${base}`]: "admin",
    [`GET ${base}/:type`]: "read",
    [`GET ${base}/:type/versions`]: "read",
    [`GET ${base}/:type/:version`]: "read",
    [`PUT ${base}/:type/:version`]: "admin",
    [`DELETE ${base}/:type/:version`]: "admin",
  };
}

/**
 * Every gRPC method, keyed by its request path (the same path for gRPC,
 * gRPC-Web and Connect). Connect-node and the raw handlers match the path
 * exactly, so an exact lookup here sees every call they serve.
 */
export const RPC_RULES: Record<string, Permission> = {
  "/ojs.v1.OJSService/Manifest": "read",
  "/ojs.v1.OJSService/Health": "public",
  "/ojs.v1.OJSService/Enqueue": "enqueue",
  "/ojs.v1.OJSService/EnqueueBatch": "enqueue",
  "/ojs.v1.OJSService/GetJob": "read",
  "/ojs.v1.OJSService/CancelJob": "enqueue",
  "/ojs.v1.OJSService/Fetch": "work",
  "/ojs.v1.OJSService/Ack": "work",
  "/ojs.v1.OJSService/Nack": "work",
  "/ojs.v1.OJSService/Heartbeat": "work",
  "/ojs.v1.OJSService/StreamJobs": "work",
  "/ojs.v1.OJSService/StreamEvents": "read",
  "/ojs.v1.OJSService/ListQueues": "read",
  "/ojs.v1.OJSService/QueueStats": "read",
  "/ojs.v1.OJSService/PauseQueue": "admin",
  "/ojs.v1.OJSService/ResumeQueue": "admin",
  "/ojs.v1.OJSService/ListDeadLetter": "read",
  "/ojs.v1.OJSService/RetryDeadLetter": "admin",
  "/ojs.v1.OJSService/DeleteDeadLetter": "admin",
  "/ojs.v1.OJSService/RegisterCron": "admin",
  "/ojs.v1.OJSService/UnregisterCron": "admin",
  "/ojs.v1.OJSService/ListCron": "read",
  "/ojs.v1.OJSService/CreateWorkflow": "enqueue",
  "/ojs.v1.OJSService/GetWorkflow": "read",
  "/ojs.v1.OJSService/CancelWorkflow": "enqueue",
  "/ojsconnect.v1.FastPathService/EnqueueStream": "enqueue",
  "/ojsconnect.v1.FastPathService/SettleStream": "work",
  "/ojsconnect.v1.FastPathService/EnqueueBatch": "enqueue",
};

/**
 * The permission a request needs. A route or method without a rule (a 404, a
 * method this server lacks) needs `read`: callers without credentials learn
 * nothing, not even which paths exist.
 */
export function httpPermission(routeKey: string | undefined): Permission {
  return routeKey !== undefined && Object.hasOwn(HTTP_RULES, routeKey) ? HTTP_RULES[routeKey]! : "read";
}

export function rpcPermission(path: string): Permission | undefined {
  return Object.hasOwn(RPC_RULES, path) ? RPC_RULES[path] : undefined;
}
