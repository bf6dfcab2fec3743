/**
 * Jobs and tenants (ojs-multi-tenancy.md §5): the tenant of a request goes
 * into meta.tenant_id of what it enqueues (a different meta.tenant_id in the
 * body is refused, §5.3), and a job of another tenant is, to that request, a
 * job that does not exist (404, so ids of other tenants cannot be probed).
 */
import { NotFoundError, ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonObject } from "../../model/json.js";

/** The tenant of a job: its meta.tenant_id, if a string. */
export function jobTenant(meta: JsonObject | undefined): string | undefined {
  const t = meta?.["tenant_id"];
  return typeof t === "string" ? t : undefined;
}

/** Puts the request's tenant into a wire job's meta (in place); `at` prefixes error paths ("jobs[2]."). */
export function stampTenant(job: JsonObject, tenant: string | undefined, at = ""): void {
  if (tenant === undefined) return;
  if (job.meta !== undefined && job.meta !== null && !isJsonObject(job.meta)) return; // the codec reports the bad meta
  const meta: JsonObject = isJsonObject(job.meta) ? { ...job.meta } : {};
  const named = meta.tenant_id;
  if (named !== undefined && named !== tenant)
    throw new ValidationError(`${at}meta.tenant_id: "${String(named)}" conflicts with the X-OJS-Tenant header ("${tenant}")`, {
      issues: [{ path: `${at}meta.tenant_id`, message: "conflicts with X-OJS-Tenant" }],
    });
  meta.tenant_id = tenant;
  job.meta = meta;
}

/** Throws NotFoundError unless the job belongs to the tenant (no tenant: every job is visible). */
export function checkVisible(id: string, meta: JsonObject | undefined, tenant: string | undefined): void {
  if (tenant !== undefined && jobTenant(meta) !== tenant) throw new NotFoundError(`job ${id} not found`, { jobId: id });
}

/** The domain-level form of {@link stampTenant}, for the gRPC binding: a copy of the request with the tenant in its meta. */
export function withTenant<R extends { meta?: JsonObject }>(req: R, tenant: string | undefined, at = ""): R {
  if (tenant === undefined) return req;
  const named = req.meta?.["tenant_id"];
  if (named !== undefined && named !== tenant)
    throw new ValidationError(`${at}meta.tenant_id: "${String(named)}" conflicts with the x-ojs-tenant header ("${tenant}")`, {
      issues: [{ path: `${at}meta.tenant_id`, message: "conflicts with x-ojs-tenant" }],
    });
  return { ...req, meta: { ...(req.meta ?? {}), tenant_id: tenant } };
}
