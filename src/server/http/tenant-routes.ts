/**
 * HTTP binding of the multi-tenancy extension's admin reads
 * (ojs-multi-tenancy.md §10): the tenants with jobs, and one tenant's counts.
 * A caller bound to a tenant reads only its own.
 */
import { NotFoundError } from "../../model/errors.js";
import { isJsonObject, type JsonObject } from "../../model/json.js";
import type { ServerCore } from "../core.js";
import { checkTenantId, requestTenant } from "../tenancy/request.js";
import type { HttpRouter } from "./router.js";

export function registerTenantRoutes(core: ServerCore, router: HttpRouter): void {
  // Through the store's tenant admin (core.tenantAdmin), not the in-process store: on PostgreSQL the jobs and limits are in the database.
  router.on("GET", "/ojs/v1/admin/tenants", async (req) => {
    const own = requestTenant(core, req.raw);
    const tenants = (await core.tenantAdmin.list()).filter((t) => own === undefined || t.tenant_id === own);
    return { status: 200, body: { tenants, count: tenants.length } };
  });
  router.on("GET", "/ojs/v1/admin/tenants/:id/stats", async (req) => {
    const id = checkTenantId(req.params.id!, "id");
    const own = requestTenant(core, req.raw);
    if (own !== undefined && own !== id) throw new NotFoundError(`tenant ${id} not found`, { details: { tenant_id: id } });
    const admin = core.tenantAdmin;
    const body = await admin.stats(id);
    const max = (await admin.limits(id))?.maxQueueDepth;
    if (max !== undefined) body.limits = { max_queue_depth: { limit: max, current: await admin.depth(id) } };
    return { status: 200, body };
  });
  // §9.3, for operators (not open to tenant-scoped calls: a tenant cannot raise its own limit).
  router.on("PUT", "/ojs/v1/admin/tenants/:id/limits", async (req) => {
    const id = checkTenantId(req.params.id!, "id");
    const admin = core.tenantAdmin;
    const cfg = await admin.configure(id, isJsonObject(req.body) ? req.body : {});
    const limits: JsonObject = {};
    if (cfg.maxQueueDepth !== undefined) limits.max_queue_depth = { limit: cfg.maxQueueDepth, current: await admin.depth(id) };
    return { status: 200, body: { tenant_id: id, limits } };
  });
}
