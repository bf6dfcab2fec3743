/**
 * HTTP binding of the rate-limiting extension (ojs-rate-limiting.md §10): the
 * inspection routes and the X-RateLimit-* headers. The enqueue option is read
 * with the job (src/codec/rate-limit.ts, src/model/rate-limit.ts); the limits
 * live in the store (store/rate-limits.ts).
 */
import { parseInstant } from "../../codec/values.js";
import { NotFoundError, ValidationError } from "../../model/errors.js";
import { isJsonObject } from "../../model/json.js";
import type { ServerCore } from "../core.js";
import { MAX_RATE_LIMIT, type RateLimitPolicy } from "../../model/rate-limit.js";
import type { HttpRouter } from "./router.js";
import { intParam } from "./route-helpers.js";

/** X-RateLimit-Limit/Remaining/Reset of the key (RL §10.4), for an answer about a job that has one. */
export async function rateLimitHeaders(core: ServerCore, policy: RateLimitPolicy | undefined): Promise<Record<string, string>> {
  return (policy && (await core.rateLimits.headers(policy.key))) || {};
}

export function registerRateLimitRoutes(core: ServerCore, router: HttpRouter): void {
  // The store's keys: in-process, or in the database shared by every server (ServerCore.rateLimits).
  const limits = () => core.rateLimits;
  router.on("GET", "/ojs/v1/rate-limits", async (req) => {
    const page = Math.max(1, intParam(req.query, "page", 1, 1_000_000));
    const perPage = Math.max(1, intParam(req.query, "per_page", 20, 1000));
    const { items, total } = await limits().list(page, perPage);
    return { status: 200, body: { items, pagination: { total, page, per_page: perPage } } };
  });
  // RL §10.2, for incident response ("concurrency": 0 stops the key): the concurrency only.
  router.on("PUT", "/ojs/v1/rate-limits/:key", async (req) => {
    const key = req.params.key!;
    const body = isJsonObject(req.body) ? req.body : {};
    for (const k of Object.keys(body))
      if (k !== "concurrency" && k !== "expires_at")
        // A field this route does not take is the caller's to fix (4xx), not a server fault.
        throw new ValidationError(`${k}: this server overrides only concurrency (and expires_at)`, {
          issues: [{ path: k, message: "not accepted here: only concurrency and expires_at" }],
        });
    const c = body.concurrency;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c > MAX_RATE_LIMIT)
      throw new ValidationError(`concurrency: must be a whole number from 0 to ${MAX_RATE_LIMIT}`, {
        issues: [{ path: "concurrency", message: "must be a whole number" }],
      });
    let until = Infinity;
    if (body.expires_at !== undefined) {
      const at = parseInstant(body.expires_at);
      if (!at || at.getTime() <= core.store.clock.now())
        throw new ValidationError("expires_at: must be an RFC 3339 timestamp in the future", {
          issues: [{ path: "expires_at", message: "must be a future RFC 3339 timestamp" }],
        });
      until = at.getTime();
    }
    const state = await limits().overrideConcurrency(key, c, until);
    if (!state) throw new NotFoundError(`no rate limit with key "${key}": no unfinished job uses it`, { details: { key } });
    return { status: 200, body: state, headers: (await limits().headers(key)) ?? {} };
  });
  router.on("GET", "/ojs/v1/rate-limits/:key", async (req) => {
    const key = req.params.key!;
    const state = await limits().inspect(key);
    if (!state) throw new NotFoundError(`no rate limit with key "${key}": no unfinished job uses it`, { details: { key } });
    return { status: 200, body: state, headers: (await limits().headers(key)) ?? {} };
  });
}
