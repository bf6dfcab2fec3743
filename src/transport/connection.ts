import { ValidationError } from "../model/errors.js";
import { createTransport, type TransportKind } from "./index.js";
import type { TransportOptions } from "./options.js";
import type { Transport } from "./transport.js";
import { checkHttpUrl, type KeyList } from "../util/options.js";
import type { LoggerOption } from "../util/logger.js";

/** Connection settings shared by Client and Worker. */
export interface ConnectionOptions {
  /** Server URL; default from OJS_URL (or OJS_BACKEND_URL), else http://localhost:8080. */
  url?: string;
  /** "grpc" (default, or OJS_TRANSPORT), "http", or a transport from grpcTransport()/httpTransport(). */
  transport?: TransportKind | Transport;
  headers?: Record<string, string>;
  /**
   * Multi-tenancy: the tenant every call acts for, sent as the `X-OJS-Tenant`
   * header (gRPC metadata `x-ojs-tenant`) on every call over both transports;
   * default from OJS_TENANT. Jobs enqueued carry it in `meta.tenant_id`, and
   * the server shows, hands out and counts only that tenant's jobs.
   */
  tenant?: string;
  /** Bearer token or API key; default token from OJS_AUTH_TOKEN. */
  auth?: TransportOptions["auth"];
  /** Default per-call deadline in ms; default 30 000. */
  timeoutMs?: number;
  tls?: TransportOptions["tls"];
  /**
   * Where the SDK reports what you would want to know without asking: a
   * connection lost (once, then every minute while it lasts) and regained, a
   * handler that failed. Default: one line on stderr each; `false` silences it;
   * any object with info/warn/error (console, pino...) receives the lines instead.
   */
  logger?: LoggerOption;
  /** gRPC keepalive pings: a dead link is noticed within interval + timeout; defaults 5 000 + 5 000 ms. */
  keepaliveIntervalMs?: number;
  keepaliveTimeoutMs?: number;
}

/** Every ConnectionOptions key, for the unknown-key check of the constructors. */
export const CONNECTION_OPTION_KEYS: KeyList<ConnectionOptions> = {
  url: true,
  transport: true,
  headers: true,
  tenant: true,
  auth: true,
  timeoutMs: true,
  tls: true,
  logger: true,
  keepaliveIntervalMs: true,
  keepaliveTimeoutMs: true,
};

const DEFAULT_URL = "http://localhost:8080";
/** ojs-multi-tenancy.md §5.2 (the server's check, src/server/tenancy/request.ts, is the same). */
const TENANT_ID = /^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$/;

/**
 * Resolves options with code first, then OJS_* environment variables, then
 * defaults, and builds the transport. `owned` says whether close() should close it.
 */
export function resolveTransport(
  opts: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): { transport: Transport; owned: boolean; url: string | undefined } {
  const tenant = opts.tenant ?? (env.OJS_TENANT || undefined);
  if (tenant !== undefined && (typeof tenant !== "string" || !TENANT_ID.test(tenant)))
    throw new ValidationError(`tenant: a tenant id is 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit`, {
      issues: [{ path: "tenant", message: "invalid tenant id" }],
    });
  if (opts.transport && typeof opts.transport === "object") {
    if (opts.tenant !== undefined)
      throw new ValidationError('tenant: give it to the transport you pass (headers: { "x-ojs-tenant": ... }), not beside it', {
        issues: [{ path: "tenant", message: "not with a transport object" }],
      });
    return { transport: opts.transport, owned: false, url: opts.url };
  }
  const kind = (opts.transport ?? env.OJS_TRANSPORT ?? "grpc").toLowerCase();
  if (kind !== "grpc" && kind !== "http")
    throw new ValidationError(`transport: must be "grpc" or "http", got "${kind}"`, { issues: [{ path: "transport", message: 'must be "grpc" or "http"' }] });
  const url = opts.url ?? env.OJS_URL ?? env.OJS_BACKEND_URL ?? DEFAULT_URL;
  checkHttpUrl(url, opts.url !== undefined ? "url" : env.OJS_URL !== undefined ? "url (from OJS_URL)" : "url (from OJS_BACKEND_URL)");
  const token = env.OJS_AUTH_TOKEN;
  const t: TransportOptions = { url };
  if (opts.headers) t.headers = opts.headers;
  if (tenant !== undefined) t.headers = { ...(opts.headers ?? {}), "x-ojs-tenant": tenant };
  const auth = opts.auth ?? (token ? { token } : undefined);
  if (auth) t.auth = auth;
  if (opts.timeoutMs !== undefined) t.timeoutMs = opts.timeoutMs;
  if (opts.tls) t.tls = opts.tls;
  if (opts.keepaliveIntervalMs !== undefined) t.keepaliveIntervalMs = opts.keepaliveIntervalMs;
  if (opts.keepaliveTimeoutMs !== undefined) t.keepaliveTimeoutMs = opts.keepaliveTimeoutMs;
  return { transport: createTransport(kind, t), owned: true, url };
}
