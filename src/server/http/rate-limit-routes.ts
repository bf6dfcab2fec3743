/**
 * HTTP binding of the rate-limiting extension (ojs-rate-limiting.md §10): the
 * inspection routes and the X-RateLimit-* headers. The enqueue option is read
 * with the job (src/codec/rate-limit.ts, src/model/rate-limit.ts); the limits
 * live in the store (store/rate-limits.ts).
 */
import { NotFoundError } from "../../model/errors.js";
import type { ServerCore } from "../core.js";
import type { RateLimitPolicy } from "../../model/rate-limit.js";
import type { HttpRouter } from "./router.js";
import { intParam, jobJson } from "./routes.js";

/** X-RateLimit-Limit/Remaining/Reset of the key (RL §10.4), for an answer about a job that has one. */
export function rateLimitHeaders(core: ServerCore, policy: RateLimitPolicy | undefined): Record<string, string> {
  return (policy && core.store.rateLimits.headers(policy.key)) || {};
}

export function registerRateLimitRoutes(core: ServerCore, router: HttpRouter): void {
  const limits = core.store.rateLimits;
  router.on("GET", "/ojs/v1/rate-limits", (req) => {
    const page = Math.max(1, intParam(req.query, "page", 1, 1_000_000));
    const perPage = Math.max(1, intParam(req.query, "per_page", 20, 1000));
    const { items, total } = limits.list(page, perPage);
    return { status: 200, body: { items, pagination: { total, page, per_page: perPage } } };
  });
  router.on("GET", "/ojs/v1/rate-limits/:key", (req) => {
    const key = req.params.key!;
    const state = limits.inspect(key);
    if (!state) throw new NotFoundError(`no rate limit with key "${key}": no unfinished job uses it`, { details: { key } });
    return { status: 200, body: state, headers: limits.headers(key) ?? {} };
  });
}

/**
 * GET /ojs/v1/admin/jobs/:id (admin API §jobs): the job envelope at the top level. The
 * rate-limiting cases read a held job's state through it (EXT-RL-003: still available).
 */
export function registerAdminJobRoute(core: ServerCore, router: HttpRouter): void {
  router.on("GET", "/ojs/v1/admin/jobs/:id", (req) => ({ status: 200, body: jobJson(core.store.get(req.params.id!)) }));
}
