/**
 * The security options of startServer and what they resolve to: the access
 * control at the door, and TLS when certificates are given. Checks the bind
 * rule before the server listens.
 */
import { resolveTls, type ResolvedTls, type TlsOptions } from "../tls.js";
import { AccessControl } from "./access.js";
import { KeyRing, type AuthOptions } from "./keys.js";
import { checkExposure, NetworkPolicy } from "./network.js";

/** Who may call the server and from where: keys with roles, TLS, and the address and browser checks (README "Running in production"). */
export interface SecurityOptions {
  /** API keys and client-certificate rules with roles (README "Running in production"). Off by default: every caller may do everything. */
  auth?: AuthOptions;
  /** Serve TLS (ALPN h2 and http/1.1) on the one port; with `ca`, client certificates are required (mTLS). */
  tls?: TlsOptions;
  /**
   * Listen on a non-loopback address without auth. Default false: startServer
   * refuses, so that a server is never exposed by accident.
   */
  allowInsecure?: boolean;
  /** Host names accepted besides loopback ones while bound to loopback (DNS rebinding protection); "*" for any. */
  allowedHosts?: string[];
  /** Origins whose cross-origin browser requests are accepted, with CORS headers; default none. */
  allowedOrigins?: string[];
}

export function setupSecurity(opts: SecurityOptions, host: string): { access: AccessControl; tls: ResolvedTls | undefined } {
  const ring = KeyRing.from(opts.auth);
  const tls = opts.tls ? resolveTls(opts.tls) : undefined;
  checkExposure(host, ring !== null || tls?.ca !== undefined, opts.allowInsecure ?? false);
  const network = new NetworkPolicy({
    host,
    ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}),
    ...(opts.allowedOrigins ? { allowedOrigins: opts.allowedOrigins } : {}),
  });
  return { access: new AccessControl(ring, network), tls };
}
