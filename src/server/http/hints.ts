/**
 * The `hint` of an HTTP error body: what to do about this error on this route.
 * A 404 for an unknown route is not a 404 for an unknown job, and a body that is
 * not JSON has no "named field" to fix.
 */
import type { OjsError } from "../../model/errors.js";

const BY_CODE: Record<string, string> = {
  not_found: "Check the id in the path.",
  invalid_request: "Fix the named field and send the request again.",
  validation_error: "Fix the named field and send the request again.",
  invalid_payload: "Send a valid JSON body.",
  unsupported: "This server does not offer that option or feature; see GET /ojs/manifest for what it supports.",
  conflict: "The resource is not in a state that allows this operation; read it first.",
  invalid_state: "The resource is not in a state that allows this operation; read it first.",
  duplicate: "Use a new id or unique key, or read the existing job.",
  method_not_allowed: "See the Allow header for the methods of this route.",
  unsupported_media_type: "Send Content-Type: application/openjobspec+json or application/json.",
  payload_too_large: "Send a smaller body or raise the server's limits.maxMessageBytes.",
  queue_full: "The queue is at its depth bound: retry after the Retry-After delay.",
  rate_limited: "Retry after the Retry-After delay.",
  unauthenticated: "Send a key the server knows: Authorization: Bearer <token> or X-OJS-API-Key: <key>.",
  permission_denied: "Use a key whose role allows this operation (see the server's auth configuration).",
  internal_error: "A fault of the server, not of the request: retry, and report it if it persists.",
  backend_error: "A fault of the server, not of the request: retry, and report it if it persists.",
};

/** not_found, by the route that answered (the first pattern that contains the key wins). */
const NOT_FOUND_BY_ROUTE: Array<[string, string]> = [
  ["/dead-letter", "The job is not in the dead-letter queue (retried, deleted, or never dead-lettered); GET /ojs/v1/dead-letter lists it."],
  ["/jobs/:id", "Check the id; finished jobs are kept only for a limited time."],
  ["/workflows/:id", "Check the workflow id; finished workflows are kept only for a limited time."],
  ["/cron", "Check the schedule name; GET /ojs/v1/cron lists the schedules."],
  ["/schemas", "Check the job type and version; GET /ojs/v1/schemas lists the registered schemas."],
  ["/workers", "Check the worker id; a worker is forgotten once it stops sending heartbeats."],
  ["/queues", "Check the queue name; GET /ojs/v1/queues lists the queues."],
];

const NO_ROUTE =
  "No such endpoint on this server: the OJS HTTP binding lives under /ojs/v1/ (GET /ojs/manifest describes the server). Check the path for typos.";

const explicit = new WeakMap<object, string>();

/** Gives one error its own hint, e.g. a request body that is not JSON. */
export function withHint<E extends object>(err: E, hint: string): E {
  explicit.set(err, hint);
  return err;
}

/** The hint for `err` answered on `route` (its pattern, e.g. "/ojs/v1/jobs/:id"), or on no route at all. */
export function hintFor(err: OjsError, route: string | undefined): string {
  const own = explicit.get(err);
  if (own) return own;
  if (err.code === "not_found") {
    if (route === undefined) return NO_ROUTE;
    for (const [key, hint] of NOT_FOUND_BY_ROUTE) if (route.includes(key)) return hint;
  }
  return BY_CODE[err.code] ?? "See the error code in the OJS specification.";
}
