import type { KeyList } from "../util/options.js";

/** Settings shared by both transports. */
export interface TransportOptions {
  /** Base URL of the OJS server, e.g. "http://localhost:8080". */
  url: string;
  /** Headers sent with every call (e.g. tenant ids). */
  headers?: Record<string, string>;
  /** Bearer token (sent as `authorization: Bearer ...`) or API key (sent as `x-ojs-api-key`). */
  auth?: { token: string } | { apiKey: string };
  /** Default per-call deadline; default 30 000 ms. */
  timeoutMs?: number;
  /**
   * gRPC: how often an HTTP/2 connection with calls open (a worker's job stream)
   * is pinged, and how long an answer may take before the connection counts as
   * dead and its calls fail (so a worker reconnects). A dead link is noticed
   * within interval + timeout; defaults 5 000 and 5 000 ms. Not used over HTTP/1.1.
   */
  keepaliveIntervalMs?: number;
  keepaliveTimeoutMs?: number;
  /** TLS for https URLs: PEM strings or buffers. */
  tls?: {
    ca?: string | Buffer;
    cert?: string | Buffer;
    key?: string | Buffer;
    /** Development only: accept any server certificate. */
    insecureSkipVerify?: boolean;
  };
}

/** Every TransportOptions key, for the unknown-key check of the transport constructors. */
export const TRANSPORT_OPTION_KEYS: KeyList<TransportOptions> = {
  url: true,
  headers: true,
  auth: true,
  timeoutMs: true,
  tls: true,
  keepaliveIntervalMs: true,
  keepaliveTimeoutMs: true,
};

/** The TransportOptions part of a wider options object. */
export function transportOptionsOf(o: TransportOptions): TransportOptions {
  const out: TransportOptions = { url: o.url };
  if (o.headers !== undefined) out.headers = o.headers;
  if (o.auth !== undefined) out.auth = o.auth;
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  if (o.tls !== undefined) out.tls = o.tls;
  return out;
}

export function authHeaders(auth: TransportOptions["auth"]): Record<string, string> {
  if (!auth) return {};
  if ("token" in auth) return { authorization: /^bearer\s/i.test(auth.token) ? auth.token : `Bearer ${auth.token}` };
  return { "x-ojs-api-key": auth.apiKey };
}
