/**
 * Which tenant a request acts for (ojs-multi-tenancy.md §5.3): the
 * `X-OJS-Tenant` header, over HTTP and as gRPC metadata. Where the server has
 * authentication, a key configured with a tenant has the header set (or
 * checked) by the access layer before any handler runs (../auth/access.ts),
 * so a handler reading the header reads the caller's bound tenant.
 */
import { PermissionDeniedError, ValidationError } from "../../model/errors.js";

/** The request header (and gRPC metadata key) naming the tenant. */
export const TENANT_HEADER = "x-ojs-tenant";

/** §5.2: non-empty, starts with a letter or digit, then letters, digits and . _ : - (at most 128 characters here). */
export const TENANT_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$/;

/** Throws a ValidationError (400) for a tenant id that breaks {@link TENANT_ID_PATTERN}. */
export function checkTenantId(v: string, where = "X-OJS-Tenant"): string {
  if (!TENANT_ID_PATTERN.test(v))
    throw new ValidationError(`${where}: a tenant id is 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit`, {
      issues: [{ path: where, message: "invalid tenant id" }],
    });
  return v;
}

type HeaderBag = { headers: Record<string, string | string[] | undefined> } | { get(name: string): string | null };

/** The tenant named by a Node request's headers or a fetch-style Headers (gRPC metadata); undefined when none. */
export function tenantFromHeaders(src: HeaderBag): string | undefined {
  let v: string | string[] | null | undefined;
  if ("get" in src && typeof src.get === "function") v = src.get(TENANT_HEADER);
  else v = (src as { headers: Record<string, string | string[] | undefined> }).headers[TENANT_HEADER];
  if (Array.isArray(v)) {
    if (new Set(v).size > 1) throw new ValidationError("X-OJS-Tenant: sent more than once with different values");
    v = v[0];
  }
  if (v === undefined || v === null || v === "") return undefined;
  return checkTenantId(v.trim());
}

/** The tenant of an HTTP request (the ServerCore parameter keeps the call sites uniform for later per-server settings). */
export function requestTenant(_core: unknown, raw: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  return tenantFromHeaders(raw);
}

/**
 * Binds a request to its key's tenant (called by the access layer once the
 * caller is identified): a request naming another tenant is refused (403); one
 * naming none is given the key's.
 */
export function bindTenant(headers: Record<string, string | string[] | undefined>, bound: string | undefined, who: string): void {
  if (bound === undefined) return;
  const named = headers[TENANT_HEADER];
  const values = named === undefined ? [] : Array.isArray(named) ? named : [named];
  for (const v of values)
    if (v.trim() !== "" && v.trim() !== bound)
      throw new PermissionDeniedError(`${who} is bound to tenant "${bound}" and may not act as tenant "${v.trim()}"`, { details: { tenant: bound } });
  headers[TENANT_HEADER] = bound;
}
