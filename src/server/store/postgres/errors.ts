/**
 * Database failures as the seam's errors: a database that cannot be reached
 * (refused, dropped, shutting down, out of connections) is the retryable
 * `unavailable`; anything else the database refuses is `backend_error`. The
 * SDK's own errors (not found, conflict, duplicate...) pass through.
 */
import { ConnectionError, OjsError, ServerError } from "../../../model/errors.js";

/** SQLSTATE classes meaning "try again later": connection exception, insufficient resources, operator intervention. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)/;

export function toOjsError(e: unknown): OjsError {
  if (e instanceof OjsError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (
    typeof code === "string" &&
    (code.startsWith("CONNECT") || code.startsWith("ECONN") || code === "ENOTFOUND" || code === "ETIMEDOUT" || UNAVAILABLE_SQLSTATE.test(code))
  )
    return new ConnectionError(`PostgreSQL unavailable: ${message}`, { cause: e });
  return new ServerError(`PostgreSQL: ${message}`, { cause: e });
}

/** Wraps every async method of a class so that its rejections are OjsErrors. */
export function mapRejections(proto: object, names: readonly string[]): void {
  const p = proto as Record<string, unknown>;
  for (const name of names) {
    const f = p[name];
    if (typeof f !== "function") throw new Error(`mapRejections: no method ${name}`);
    p[name] = function (this: unknown, ...args: unknown[]) {
      return (f as (...a: unknown[]) => Promise<unknown>).apply(this, args).catch((e: unknown) => {
        throw toOjsError(e);
      });
    };
  }
}
