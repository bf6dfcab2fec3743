/**
 * HTTP binding of the multi-tenancy extension's admin reads
 * (ojs-multi-tenancy.md §10): the tenants with jobs, and one tenant's counts.
 * A caller bound to a tenant reads only its own.
 */
import { NotFoundError } from "../../model/errors.js";
import type { ServerCore } from "../core.js";
import { checkTenantId, requestTenant } from "../tenancy/request.js";
import { listTenants, tenantStats } from "../tenancy/stats.js";
import type { HttpRouter } from "./router.js";

export function registerTenantRoutes(core: ServerCore, router: HttpRouter): void {
  router.on("GET", "/ojs/v1/admin/tenants", (req) => {
    const own = requestTenant(core, req.raw);
    const tenants = listTenants(core.store.rawJobRecords()).filter((t) => own === undefined || t.tenant_id === own);
    return { status: 200, body: { tenants, count: tenants.length } };
  });
  router.on("GET", "/ojs/v1/admin/tenants/:id/stats", (req) => {
    const id = checkTenantId(req.params.id!, "id");
    const own = requestTenant(core, req.raw);
    if (own !== undefined && own !== id) throw new NotFoundError(`tenant ${id} not found`, { details: { tenant_id: id } });
    return { status: 200, body: tenantStats(core.store.rawJobRecords(), id) };
  });
}
