/**
 * The door of the server: every request passes here before any handler runs.
 * It applies the network rules (Host, Origin), then finds who is calling (an
 * API key or bearer token, or a client certificate) and whether one of their
 * roles grants what the operation needs (./roles.ts). Refusals are answered
 * in the caller's protocol: an OJS error body with 401/403 over HTTP/JSON,
 * UNAUTHENTICATED/PERMISSION_DENIED over gRPC and gRPC-Web, the Connect error
 * JSON over Connect.
 *
 * RPC paths are checked here because connect-node and the raw gRPC handlers
 * match them exactly (the same lookup as RPC_RULES). HTTP routes are checked
 * by the router through `authorizeRoute`, with the route the router itself
 * matched, so the route that runs is the route that was checked.
 */
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { AuthenticationError, OjsError, PermissionDeniedError } from "../../model/errors.js";
import { uuidv7 } from "../../model/uuid.js";
import { toConnectError } from "../grpc/errors.js";
import { resetUnreadStream } from "../http/h2-reset.js";
import { errorBody, send, type NodeRequest, type NodeResponse } from "../http/router.js";
import { peerNames } from "../tls.js";
import { KeyRing, type Principal } from "./keys.js";
import { bindTenant } from "../tenancy/request.js";
import { checkTenantScope, TENANT_SCOPED_METHODS, TENANT_SCOPED_ROUTES } from "../tenancy/scope.js";
import { NetworkPolicy } from "./network.js";
import { httpPermission, ROLE_PERMISSIONS, rolesGranting, rpcPermission, type Permission } from "./roles.js";

const CREDENTIALS_HINT = "send Authorization: Bearer <token> or X-OJS-API-Key: <key>";

export class AccessControl {
  /** Told of every refusal by its reason ("unauthenticated", "permission_denied", "host", "origin"), for /metrics. */
  onRefusal: ((reason: string) => void) | undefined;

  constructor(
    /** Null when auth is off: every caller may do everything (TLS client certificates may still be required). */
    private readonly ring: KeyRing | null,
    private readonly network: NetworkPolicy,
  ) {}

  /**
   * Admits a request or answers it with a refusal. False means the request
   * was answered and must go no further.
   */
  admit(req: NodeRequest, res: NodeResponse): boolean {
    const refusal = this.network.check(req, (k, v) => res.setHeader(k, v));
    if (refusal) {
      this.onRefusal?.(refusal.reason);
      refuse(req, res, new PermissionDeniedError(refusal.message));
      return false;
    }
    const preflight = this.network.preflight(req);
    if (preflight) {
      req.resume();
      (res as ServerResponse).writeHead(204, preflight);
      res.end();
      return false;
    }
    const path = (req.url ?? "").split("?", 2)[0]!;
    let permission = rpcPermission(path);
    // A gRPC call to a method this server lacks: callers without credentials learn nothing.
    if (permission === undefined && isGrpc(req)) permission = "read";
    if (permission === undefined) return true; // an HTTP route: the router checks it (authorizeRoute)
    try {
      this.authorize(req, permission, path.slice(1));
      checkTenantScope(req.headers, path, TENANT_SCOPED_METHODS);
      return true;
    } catch (e) {
      this.onRefusal?.((e as OjsError).code);
      refuse(req, res, e);
      return false;
    }
  }

  /** The router's check of the route it matched ("METHOD /pattern", undefined for no route). Throws a refusal. */
  authorizeRoute(req: NodeRequest, res: NodeResponse, routeKey: string | undefined): void {
    try {
      this.authorize(req, httpPermission(routeKey), routeKey ?? `${req.method} ${(req.url ?? "").split("?", 2)[0]}`);
      checkTenantScope(req.headers, routeKey, TENANT_SCOPED_ROUTES);
    } catch (e) {
      this.onRefusal?.((e as OjsError).code);
      stopReading(req, res);
      throw e;
    }
  }

  /** Throws AuthenticationError (401) or PermissionDeniedError (403) unless the caller may do `operation`. */
  authorize(req: NodeRequest, permission: Permission, operation: string): Principal | undefined {
    if (permission === "public" || this.ring === null) return undefined;
    if (permission === "metrics") {
      if (this.ring.publicMetrics) return undefined;
      permission = "read";
    }
    const who = this.identify(req, operation);
    // Multi-tenancy: a key bound to a tenant acts for it alone (handlers read the header).
    bindTenant(req.headers, who.tenant, who.name);
    if (who.roles.some((r) => ROLE_PERMISSIONS[r].includes(permission))) return who;
    throw new PermissionDeniedError(`${who.name} (role ${who.roles.join(", ")}) may not call ${operation}: it needs the ${rolesGranting(permission)} role`, {
      details: { operation, permission, roles: who.roles.join(",") },
    });
  }

  private identify(req: NodeRequest, operation: string): Principal {
    const ring = this.ring!;
    const secret = presentedSecret(req);
    if (secret !== undefined) {
      const who = ring.matchKey(secret);
      if (!who) throw new AuthenticationError(`the token or API key sent is not valid for this server (calling ${operation})`, { details: { operation } });
      return who;
    }
    const names = peerNames(req.socket);
    if (names !== undefined) {
      const who = ring.matchCertificate(names);
      if (who) return who;
      throw new PermissionDeniedError(
        `the client certificate (${names[0] ?? "no name"}) has no role on this server (calling ${operation}); add a clientCertificates rule for it, or ${CREDENTIALS_HINT}`,
        { details: { operation } },
      );
    }
    throw new AuthenticationError(`${operation} needs credentials: ${CREDENTIALS_HINT}`, { details: { operation } });
  }
}

/** The secret from the headers the SDK sends (`auth: { token }` or `{ apiKey }`) or the common `X-API-Key`. */
function presentedSecret(req: NodeRequest): string | undefined {
  const auth = first(req.headers.authorization);
  if (auth !== undefined) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (!m) throw new AuthenticationError(`Authorization: only the Bearer scheme is accepted (${CREDENTIALS_HINT})`);
    return m[1]!;
  }
  return first(req.headers["x-ojs-api-key"]) ?? first(req.headers["x-api-key"]);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function isGrpc(req: NodeRequest): boolean {
  const ct = req.headers["content-type"];
  return typeof ct === "string" && ct.startsWith("application/grpc");
}

/**
 * The body of a refused request is never read, nor waited for: an HTTP/1.1
 * connection closes after the refusal, an HTTP/2 stream is reset once the
 * refusal is out (RST_STREAM NO_ERROR, as gRPC servers end a call the client
 * is still sending on; a pipelining client never half-closes). The compat
 * response's own "finish" waits for the client's side, hence the stream's.
 */
function stopReading(req: NodeRequest, res: NodeResponse): void {
  req.resume();
  if (req.httpVersionMajor === 2) {
    const stream = (res as Http2ServerResponse).stream;
    // A client that has sent all of its request (a unary call) needs no reset: the stream ends
    // with the answer. Otherwise the reset waits a turn of the event loop after "finish", so the
    // answer's HEADERS frame is on the wire before RST_STREAM (Node 22 sends a reset submitted
    // at "finish" first, and the client then sees a stream without a status).
    resetUnreadStream(stream, "finish", () => req.complete);
  } else if (!req.complete && !res.headersSent) {
    res.setHeader("connection", "close");
  }
}

/** Answers a refused request in its protocol. */
function refuse(req: NodeRequest, res: NodeResponse, e: unknown): void {
  const r = res as ServerResponse;
  if (r.headersSent) return;
  stopReading(req, res);
  const rid = first(req.headers["x-request-id"]) ?? first(req.headers["x-ojs-request-id"]) ?? `req_${uuidv7()}`;
  const err = e instanceof OjsError ? e : new AuthenticationError(String(e));
  const path = (req.url ?? "").split("?", 2)[0]!;
  if (isGrpc(req)) {
    // Trailers-only: the status travels in the headers of an empty response (gRPC and gRPC-Web alike).
    const headers: Record<string, string> = { "content-type": String(req.headers["content-type"]) };
    setTrailerStatus(new Headers(), toConnectError(err, rid)).forEach((v, k) => (headers[k] = v));
    r.writeHead(200, headers);
    r.end();
  } else if (rpcPermission(path) !== undefined) {
    const ce = toConnectError(err, rid);
    const body = Buffer.from(errorToJsonBytes(ce, {}));
    r.writeHead(codeToHttpStatus(ce.code), { "content-type": "application/json", "content-length": String(body.length) });
    r.end(body);
  } else {
    const { status, body, headers } = errorBody(err, rid);
    send(res, status, body, rid, headers);
  }
}
