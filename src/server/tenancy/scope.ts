/**
 * Which operations a caller with a tenant may reach: those that scope what
 * they read and change to the tenant (jobs, fetch and settle, events,
 * webhooks, the tenant's stats). Everything else (queue statistics, dead
 * letter, workflows, cron, admin job search and bulk actions...) counts or
 * touches every tenant's jobs, so a tenant-scoped caller is refused it (403)
 * instead of seeing other tenants' work: safe by default, and a new route is
 * closed to tenants until it is made tenant-aware and listed here.
 */
import { PermissionDeniedError } from "../../model/errors.js";
import { TENANT_HEADER } from "./request.js";

/** HTTP routes ("METHOD /pattern", as the router names them) that are scoped by tenant. */
export const TENANT_SCOPED_ROUTES: ReadonlySet<string> = new Set([
  "GET /ojs/manifest",
  "GET /ojs/v1/health",
  "GET /health",
  "GET /ready",
  "POST /ojs/v1/jobs",
  "POST /ojs/v1/jobs/batch",
  "GET /ojs/v1/jobs/:id",
  "DELETE /ojs/v1/jobs/:id",
  "GET /ojs/v1/jobs/:id/progress",
  "PUT /ojs/v1/jobs/:id/progress",
  "GET /ojs/v1/jobs/:id/events",
  "POST /ojs/v1/workers/fetch",
  "POST /ojs/v1/workers/ack",
  "POST /ojs/v1/jobs/:id/ack",
  "POST /ojs/v1/workers/nack",
  "POST /ojs/v1/workers/heartbeat",
  "POST /ojs/v1/workers/beat",
  "GET /ojs/v1/events",
  "GET /ojs/v1/events/stream",
  "GET /ojs/v1/queues/:name/events",
  "POST /ojs/v1/webhooks/subscriptions",
  "GET /ojs/v1/webhooks/subscriptions",
  "GET /ojs/v1/webhooks/subscriptions/:id",
  "PATCH /ojs/v1/webhooks/subscriptions/:id",
  "DELETE /ojs/v1/webhooks/subscriptions/:id",
  "POST /ojs/v1/webhooks/subscriptions/:id/test",
  "POST /ojs/v1/webhooks/subscriptions/:id/rotate-secret",
  "GET /ojs/v1/webhooks/deliveries",
  "GET /ojs/v1/webhooks/deliveries/:id",
  "POST /ojs/v1/webhooks/deliveries/:id/retry",
  "GET /ojs/v1/admin/tenants",
  "GET /ojs/v1/admin/tenants/:id/stats",
]);

/** gRPC methods (request paths) that are scoped by tenant. */
export const TENANT_SCOPED_METHODS: ReadonlySet<string> = new Set([
  "/ojs.v1.OJSService/Manifest",
  "/ojs.v1.OJSService/Health",
  "/ojs.v1.OJSService/Enqueue",
  "/ojs.v1.OJSService/EnqueueBatch",
  "/ojs.v1.OJSService/GetJob",
  "/ojs.v1.OJSService/CancelJob",
  "/ojs.v1.OJSService/Fetch",
  "/ojs.v1.OJSService/Ack",
  "/ojs.v1.OJSService/Nack",
  "/ojs.v1.OJSService/Heartbeat",
  "/ojs.v1.OJSService/StreamJobs",
  "/ojs.v1.OJSService/StreamEvents",
  "/ojsconnect.v1.FastPathService/EnqueueStream",
  "/ojsconnect.v1.FastPathService/SettleStream",
  "/ojsconnect.v1.FastPathService/EnqueueBatch",
]);

/** Throws PermissionDeniedError when the request names a tenant and the operation is not scoped by one. */
export function checkTenantScope(headers: Record<string, string | string[] | undefined>, operation: string | undefined, scoped: ReadonlySet<string>): void {
  const t = headers[TENANT_HEADER];
  if (operation === undefined || t === undefined || t === "" || scoped.has(operation)) return;
  throw new PermissionDeniedError(
    `${operation} is not scoped by tenant: it reads or changes every tenant's jobs, so a call with X-OJS-Tenant (or a key bound to a tenant) may not make it`,
    {
      details: { operation },
    },
  );
}
