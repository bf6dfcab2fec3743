import { AbortError, codeForHttpStatus, ConnectionError, errorFromCode, OjsError, TimeoutError, UnimplementedError } from "../../model/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";

/** An HTTP error response as an OjsError: the body's `error.code` when present, else the status. */
export function fromHttpResponse(
  status: number,
  body: JsonValue | undefined,
  headers: Record<string, string | string[] | undefined>,
  operation: string,
  route?: string,
): OjsError {
  const err = isJsonObject(body) && isJsonObject(body.error) ? body.error : undefined;
  // No OJS error body: the server has no such route (an older or smaller server), not "no such job".
  if (!err && (status === 404 || status === 405))
    return new UnimplementedError(`the server does not serve ${route ?? "this route"} (HTTP ${status}), needed for ${operation}`, {
      operation,
      httpStatus: status,
    });
  const code = typeof err?.code === "string" ? err.code : codeForHttpStatus(status);
  const message = typeof err?.message === "string" ? err.message : `HTTP ${status}`;
  const requestId =
    (typeof err?.request_id === "string" ? err.request_id : undefined) ?? headerValue(headers, "x-request-id") ?? headerValue(headers, "x-ojs-request-id");
  const retryAfterMs = parseRetryAfter(headerValue(headers, "retry-after"));
  const details = isJsonObject(err?.details) ? (err.details as JsonObject) : undefined;
  const e = errorFromCode(code, message, {
    operation,
    httpStatus: status,
    ...(typeof err?.retryable === "boolean" ? { retryable: err.retryable } : {}),
    ...(details ? { details } : {}),
    ...(requestId ? { requestId } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
  const violations = details?.validation_errors;
  if (Array.isArray(violations) && "issues" in e) {
    for (const v of violations)
      if (isJsonObject(v))
        (e as { issues: Array<{ path: string; message: string }> }).issues.push({ path: String(v.path ?? v.field ?? ""), message: String(v.message ?? "") });
  }
  return e;
}

/** Retry-After as delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Socket-level failures, timeouts and aborts as OjsErrors. */
export function fromNetworkError(e: unknown, operation: string, aborted: "timeout" | "signal" | undefined): OjsError {
  if (e instanceof OjsError) return e;
  if (aborted === "timeout") return new TimeoutError(`${operation} timed out`, { operation, cause: e });
  if (aborted === "signal") return new AbortError(`${operation} was aborted`, { operation, cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new ConnectionError(`${operation} failed: ${msg}`, { operation, cause: e });
}

function headerValue(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
