/**
 * A small method + path router for the OJS HTTP binding, with the binding's
 * conventions built in: JSON bodies (application/openjobspec+json or
 * application/json) under a size limit, the standard error body for every
 * failure, a request id on every response, and the OJS version headers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { errorSpec, OjsError, ValidationError } from "../../model/errors.js";
import type { JsonObject, JsonValue } from "../../model/json.js";
import { jsonSize, limitError, TOO_DEEP } from "../../model/limits.js";
import { uuidv7 } from "../../model/uuid.js";
import { SPEC_VERSION } from "../version.js";
import { hintFor, withHint } from "./hints.js";

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

export const OJS_CONTENT_TYPE = "application/openjobspec+json";

export interface HttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: NodeRequest["headers"];
  /** The caller's X-Request-ID, or one the server made up: every response carries it. */
  requestId: string;
  /** The parsed JSON body; {} when there was none. */
  body: JsonValue;
  raw: NodeRequest;
  /** Aborts when the client goes away before the response is finished (long polls listen to it). */
  signal: AbortSignal;
}

/** What a handler returns: a status and a JSON (or text) body, or a function that takes over the response (SSE). */
export type HttpResult =
  { status: number; body?: JsonValue; text?: string; headers?: Record<string, string> } | { stream: (res: NodeResponse, requestId: string) => void };

export type HttpHandler = (req: HttpRequest) => HttpResult | Promise<HttpResult>;

interface Route {
  method: string;
  pattern: string;
  parts: string[];
  handler: HttpHandler;
  /** "METHOD /pattern": how the access rules (../auth/roles.ts) name the route. */
  key: string;
}

/** Checks a request against the route the router matched (undefined: no route); throws to refuse it. */
export type RouteGuard = (req: NodeRequest, res: NodeResponse, routeKey: string | undefined) => void;

/** What the router tells its owner about each response: the status, and for errors what was thrown. */
export interface ResponseInfo {
  method: string;
  path: string;
  requestId: string;
  /** Set when the response is an error: what the handler (or the router) threw. */
  error?: unknown;
}

const DOCS_URL = "https://openjobspec.org/spec/errors";

/** Request bodies past this are not read at all: the connection is closed after the 413. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

export class HttpRouter {
  private routes: Route[] = [];
  private guard: RouteGuard | undefined;

  constructor(
    /** limits.maxMessageBytes: the largest request body read. */
    private readonly maxBodyBytes = 1024 * 1024,
    private readonly onResponse?: (status: number, info: ResponseInfo) => void,
    /** limits.maxDepth: bodies may nest this deep plus BODY_ENVELOPE_DEPTH (the request's own shape). */
    private readonly maxDepth = 64,
  ) {}

  on(method: string, pattern: string, handler: HttpHandler): this {
    const parts = pattern.split("/").filter(Boolean);
    this.routes.push({ method, pattern, parts, handler, key: `${method} /${parts.join("/")}` });
    return this;
  }

  /** Every route as "METHOD /pattern", in matching order. */
  list(): string[] {
    return this.routes.map((r) => r.key);
  }

  /** Runs before any handler (and before 404/405), with the route this router matched. */
  useGuard(guard: RouteGuard): this {
    this.guard = guard;
    return this;
  }

  /** True when some route serves this path (with any method). */
  matchesPath(path: string): boolean {
    const segs = path.split("/").filter(Boolean);
    return this.routes.some((r) => match(r.parts, segs) !== undefined);
  }

  /** Awaited after a handler and before its answer is sent (the durable store's barrier). */
  beforeReply: ((method: string, path: string) => Promise<void> | undefined) | undefined;

  async handle(req: NodeRequest, res: NodeResponse): Promise<void> {
    let rid = header(req, "x-request-id") ?? header(req, "x-ojs-request-id");
    if (!rid || rid.length > 200) rid = `req_${uuidv7()}`;
    const method = req.method ?? "GET";
    // HEAD is answered wherever GET is: the same status and headers, no body.
    const head = method === "HEAD";
    let route: Route | undefined;
    const allow: string[] = [];
    let path = req.url ?? "/";
    try {
      const url = requestTarget(req.url ?? "/");
      path = url.pathname;
      // An empty segment ("//x", "/a//b") is no route's: refused here, not collapsed into another path.
      const segs = url.pathname.includes("//") ? [""] : url.pathname.split("/").filter(Boolean);
      let params: Record<string, string> | undefined;
      for (const r of this.routes) {
        const p = match(r.parts, segs);
        if (p === undefined) continue;
        if (!allow.includes(r.method)) allow.push(r.method);
        if (!route && (r.method === method || (head && r.method === "GET"))) {
          route = r;
          params = p;
        }
      }
      if (allow.includes("GET") && !allow.includes("HEAD")) allow.push("HEAD");
      this.guard?.(req, res, route?.key);
      if (!route) {
        req.resume();
        if (allow.length) throw new OjsError(`${method} is not allowed on ${url.pathname} (allowed: ${allow.join(", ")})`, { code: "method_not_allowed" });
        throw new OjsError(`no route for ${method} ${url.pathname}`, { code: "not_found" });
      }
      const body = await readBody(req, this.maxBodyBytes, this.maxDepth);
      const gone = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) gone.abort();
      });
      const result = await route.handler({
        method: req.method ?? "GET",
        path: url.pathname,
        params: params!,
        query: url.searchParams,
        headers: req.headers,
        requestId: rid,
        body,
        raw: req,
        signal: gone.signal,
      });
      const barrier = this.beforeReply?.(req.method ?? "GET", path);
      if (barrier) await barrier;
      const info: ResponseInfo = { method, path, requestId: rid };
      if ("stream" in result) {
        this.onResponse?.(200, info);
        // HEAD of a stream: its headers, and no stream.
        if (head) sendHead(res, 200, rid, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        else result.stream(res, rid);
        return;
      }
      this.onResponse?.(result.status, info);
      if (result.text !== undefined) sendText(res, result.status, result.text, rid, result.headers, head);
      else send(res, result.status, result.body, rid, result.headers, head);
    } catch (e) {
      const { status, body, headers } = errorBody(e, rid, route?.pattern);
      this.onResponse?.(status, { method, path, requestId: rid, error: e });
      if (status === 413) headers.connection = "close";
      if (status === 405) headers.allow = allow.join(", ");
      send(res, status, body, rid, headers, head);
    }
  }
}

function match(parts: string[], segs: string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.startsWith(":")) {
      let v: string;
      try {
        v = decodeURIComponent(segs[i]!);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = v;
    } else if (p !== segs[i]) return undefined;
  }
  return params;
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const JSON_TYPES = new Set([OJS_CONTENT_TYPE, "application/json"]);

/**
 * The path and query of a request target (RFC 9112 §3.2). Origin-form ("/a?b")
 * is split by hand: WHATWG URL parsing reads "//host/path" as a host, which
 * would route "//ojs/v1/jobs" to "/v1/jobs". Absolute-form (proxies) is parsed
 * as a URL; anything else ("*", garbage) has no route.
 */
function requestTarget(target: string): { pathname: string; searchParams: URLSearchParams } {
  if (target.startsWith("/")) {
    const q = target.indexOf("?");
    const path = q === -1 ? target : target.slice(0, q);
    const hash = path.indexOf("#");
    return { pathname: hash === -1 ? path : path.slice(0, hash), searchParams: new URLSearchParams(q === -1 ? "" : target.slice(q + 1)) };
  }
  try {
    const u = new URL(target);
    if (u.protocol === "http:" || u.protocol === "https:") return { pathname: u.pathname, searchParams: u.searchParams };
  } catch {
    // falls through: no route
  }
  return { pathname: "//", searchParams: new URLSearchParams() };
}

/** Levels a request body adds around the values the limits measure (a batch's {jobs: [{args: ...}]}, a workflow's steps). */
const BODY_ENVELOPE_DEPTH = 8;

function isJsonType(contentType: string | undefined): boolean {
  const ct = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return JSON_TYPES.has(ct) || ct.endsWith("+json");
}

async function readBody(req: NodeRequest, limit: number, maxDepth: number): Promise<JsonValue> {
  // Bodies on these methods are not part of the binding; drain and ignore them. A DELETE
  // that says it carries JSON is read: the admin API's purges take their filter there.
  const skip = req.method === "DELETE" ? !isJsonType(header(req, "content-type")) : req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS";
  if (skip) {
    req.resume();
    return {};
  }
  const declared = Number(header(req, "content-length") ?? NaN);
  if (declared > limit) {
    drain(req);
    throw limitError("maxMessageBytes", limit, "request body", declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      drain(req);
      // How much more would come is unknown: the body is cut here.
      throw limitError("maxMessageBytes", limit, "request body");
    }
    chunks.push(chunk);
  }
  if (size === 0) return {};
  const ct = (header(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  // A body must say it is JSON. Browsers send a cross-site POST without a preflight
  // only with no content type or a "simple" one (text/plain, forms): such a body is refused.
  if (!isJsonType(ct))
    throw new OjsError(ct ? `content type ${ct} is not supported` : "a request body needs Content-Type: application/json", { code: "unsupported_media_type" });
  let body: JsonValue;
  try {
    body = JSON.parse(Buffer.concat(chunks, size).toString("utf8")) as JsonValue;
  } catch (e) {
    throw withHint(
      new ValidationError(`request body is not valid JSON: ${(e as Error).message}`, { code: "invalid_payload" }),
      "Send a valid JSON body; the message says where the parser stopped (often a missing quote or comma, or a trailing comma).",
    );
  }
  // Before any handler walks it: nothing past this point meets a body nested deeper than this.
  if (jsonSize(body, maxDepth + BODY_ENVELOPE_DEPTH) === TOO_DEEP) throw limitError("maxDepth", maxDepth, "request body");
  return body;
}

/** Keeps reading (and dropping) an oversized body so the 413 reaches the client, up to a hard cap. */
function drain(req: NodeRequest): void {
  let seen = 0;
  req.on("data", (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_LIMIT) req.destroy();
  });
  req.resume();
}

function baseHeaders(rid: string): Record<string, string> {
  return { "content-type": OJS_CONTENT_TYPE, "ojs-version": SPEC_VERSION, "x-request-id": rid, "x-ojs-request-id": rid };
}

/** `head`: the headers a GET would send (content-length included), and no body. */
export function send(res: NodeResponse, status: number, body: JsonValue | undefined, rid: string, extra?: Record<string, string>, head = false): void {
  if (res.headersSent) return;
  const payload = body === undefined || status === 204 ? "" : JSON.stringify(body);
  const headers = { ...baseHeaders(rid), ...(extra ?? {}) };
  headers["content-length"] = String(Buffer.byteLength(payload));
  (res as ServerResponse).writeHead(status, headers);
  if (head) res.end();
  else res.end(payload);
}

function sendText(res: NodeResponse, status: number, text: string, rid: string, extra?: Record<string, string>, head = false): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { ...baseHeaders(rid), "content-type": "text/plain", ...(extra ?? {}) };
  headers["content-length"] = String(Buffer.byteLength(text));
  (res as ServerResponse).writeHead(status, headers);
  if (head) res.end();
  else res.end(text);
}

function sendHead(res: NodeResponse, status: number, rid: string, extra: Record<string, string>): void {
  if (res.headersSent) return;
  (res as ServerResponse).writeHead(status, { ...baseHeaders(rid), ...extra });
  res.end();
}

/** The standard error body (HTTP binding §16.1) for anything a handler threw. */
export function errorBody(e: unknown, rid: string, route?: string): { status: number; body: JsonObject; headers: Record<string, string> } {
  const err = e instanceof OjsError ? e : new OjsError(e instanceof Error ? e.message : String(e), { code: "internal_error" });
  const spec = errorSpec(err.code);
  // `type` repeats the code for readers of the older error shape (a level-1 case reads it).
  const error: JsonObject = { code: err.code, type: err.code, message: err.message, retryable: err.retryable };
  if (err.details) error.details = err.details;
  if (err instanceof ValidationError && err.issues.length)
    error.details = { ...(err.details ?? {}), validation_errors: err.issues.map((i) => ({ path: i.path, message: i.message })) };
  error.request_id = rid;
  error.hint = hintFor(err, route);
  error.docs_url = `${DOCS_URL}#${err.code}`;
  const headers: Record<string, string> = {};
  if (err.code === "unauthenticated") headers["www-authenticate"] = 'Bearer realm="ojs"';
  const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
  if (retryAfter !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(retryAfter / 1000)));
  // Backpressure (BP-005): a full queue says how full, so producers can back off in proportion.
  if (err.code === "queue_full" && err.details) {
    if (typeof err.details.depth === "number") headers["x-ojs-queue-depth"] = String(err.details.depth);
    if (typeof err.details.bound === "number") headers["x-ojs-queue-bound"] = String(err.details.bound);
  }
  return { status: err.httpStatus ?? spec.http, body: { error }, headers };
}
