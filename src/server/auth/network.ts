/**
 * Who may reach the server over the network, before any credential is read:
 * - the bind rule: no listening beyond loopback without authentication,
 *   unless the operator says so (`allowInsecure`, `serve --insecure`);
 * - the Host rule (DNS rebinding): a server on loopback answers only requests
 *   addressed to a loopback name or to one of `allowedHosts`;
 * - the Origin rule (cross-site requests from browsers): a request a browser
 *   sent from another origin is refused unless that origin is allowed, in
 *   which case it also gets CORS headers (and preflights an answer).
 */
import { isIP } from "node:net";
import { ValidationError } from "../../model/errors.js";

export interface NetworkPolicyOptions {
  host: string;
  /** Extra names (besides loopback ones) the Host header may carry; "*" accepts any. */
  allowedHosts?: readonly string[];
  /** Origins (e.g. "https://dash.example.com") whose browser requests are accepted, with CORS; "*" accepts any. */
  allowedOrigins?: readonly string[];
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * Refuses, before listening, to serve a non-loopback address with nobody
 * checked at the door. mTLS counts as a check: only holders of a certificate
 * the CA signed get in.
 */
export function checkExposure(host: string, guarded: boolean, allowInsecure: boolean): void {
  if (isLoopbackHost(host) || guarded || allowInsecure) return;
  throw new ValidationError(
    `refusing to listen on ${host} without authentication: anyone who can reach it could read, run and delete jobs. ` +
      `Set auth (serve --auth-token, --auth-file, or --tls-ca for client certificates), ` +
      `or pass allowInsecure: true (serve --insecure) if something in front of the server checks callers.`,
  );
}

export interface Refusal {
  reason: "host" | "origin";
  message: string;
}

export interface NetworkRequest {
  method?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

export class NetworkPolicy {
  private readonly hosts: Set<string>;
  private readonly anyHost: boolean;
  private readonly checkHost: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;
  private lastGoodAuthority: string | undefined;

  constructor(opts: NetworkPolicyOptions) {
    this.hosts = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
    this.anyHost = this.hosts.has("*");
    // Off the loopback interface the Host is only checked when names are given:
    // there the server is reachable by whatever names point at it, and auth guards it.
    this.checkHost = !this.anyHost && (isLoopbackHost(opts.host) || this.hosts.size > 0);
    this.origins = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/$/, "")));
    this.anyOrigin = this.origins.has("*");
  }

  /** A reason to refuse the request, or undefined. Sets CORS headers on `setHeader` for allowed cross origins. */
  check(req: NetworkRequest, setHeader: (name: string, value: string) => void): Refusal | undefined {
    const authority = header(req, ":authority") ?? header(req, "host");
    if (this.checkHost && authority !== undefined && authority !== this.lastGoodAuthority) {
      const name = hostName(authority);
      if (!isLoopbackHost(name) && !this.hosts.has(name))
        return {
          reason: "host",
          message: `Host "${authority}" is not a name this server answers to (DNS rebinding protection); add it to allowedHosts (serve --allowed-host) if it is yours`,
        };
      this.lastGoodAuthority = authority; // clients send the same one on every call: parse it once
    }
    const origin = header(req, "origin");
    if (origin === undefined) return undefined;
    if (authority !== undefined && sameOrigin(origin, authority)) return undefined;
    const o = origin.toLowerCase();
    if (o === "null" || !(this.anyOrigin || this.origins.has(o)))
      return {
        reason: "origin",
        message: `cross-origin request from ${origin} refused; add the origin to allowedOrigins (serve --allowed-origin) to accept it`,
      };
    setHeader("access-control-allow-origin", origin);
    setHeader("vary", "origin");
    setHeader(
      "access-control-expose-headers",
      "x-request-id, x-ojs-request-id, ojs-version, location, retry-after, grpc-status, grpc-message, grpc-status-details-bin",
    );
    return undefined;
  }

  /** A CORS preflight from an allowed origin (check() passed): the headers of its 204 answer, else undefined. */
  preflight(req: NetworkRequest): Record<string, string> | undefined {
    if (req.method !== "OPTIONS" || header(req, "origin") === undefined || header(req, "access-control-request-method") === undefined) return undefined;
    return {
      "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
      "access-control-allow-headers": header(req, "access-control-request-headers") ?? "authorization, content-type",
      "access-control-max-age": "600",
    };
  }
}

function header(req: NetworkRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The host name of a Host header value, without port or IPv6 brackets, lower-cased. */
function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) return a.slice(1, a.indexOf("]") === -1 ? undefined : a.indexOf("]"));
  const colon = a.lastIndexOf(":");
  return colon === -1 ? a : a.slice(0, colon);
}

/** A browser's Origin names the page's scheme://host[:port]; same-origin when host and port are those the request went to. */
function sameOrigin(origin: string, authority: string): boolean {
  try {
    const u = new URL(origin);
    const port = u.port || (u.protocol === "https:" ? "443" : u.protocol === "http:" ? "80" : "");
    const a = authority.trim().toLowerCase();
    const withPort = /:\d+$/.test(a) && !a.endsWith("]") ? a : `${a}:${u.protocol === "https:" ? "443" : "80"}`;
    return `${u.hostname}:${port}` === withPort;
  } catch {
    return false;
  }
}
