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
import { uuidv7 } from "../../model/uuid.js";
import { SPEC_VERSION } from "../version.js";

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
  | { status: number; body?: JsonValue; text?: string; headers?: Record<string, string> }
  | { stream: (res: NodeResponse, requestId: string) => void };

export type HttpHandler = (req: HttpRequest) => HttpResult | Promise<HttpResult>;

interface Route {
  method: string;
  parts: string[];
  handler: HttpHandler;
  /** "METHOD /pattern": how the access rules (../auth/roles.ts) name the route. */
  key: string;
}

/** Checks a request against the route the router matched (undefined: no route); throws to refuse it. */
export type RouteGuard = (req: NodeRequest, res: NodeResponse, routeKey: string | undefined) => void;

const DOCS_URL = "https://openjobspec.org/spec/errors";
const HINTS: Record<string, string> = {
  not_found: "Check the id; finished jobs are kept only for a limited time.",
  invalid_request: "Fix the named field and send the request again.",
  validation_error: "Fix the named field and send the request again.",
  conflict: "The resource is not in a state that allows this operation; read it first.",
  invalid_state: "The resource is not in a state that allows this operation; read it first.",
  duplicate: "Use a new id or unique key, or read the existing job.",
  method_not_allowed: "See the OJS HTTP binding for the methods of this route.",
  unsupported_media_type: `Send Content-Type: ${OJS_CONTENT_TYPE} or application/json.`,
  payload_too_large: "Send a smaller body or raise the server's body limit.",
  queue_full: "The queue is at its depth bound: retry after the Retry-After delay.",
  rate_limited: "Retry after the Retry-After delay.",
  unauthenticated: "Send a key the server knows: Authorization: Bearer <token> or X-OJS-API-Key: <key>.",
  permission_denied: "Use a key whose role allows this operation (see the server's auth configuration).",
};

/** Request bodies past this are not read at all: the connection is closed after the 413. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

export class HttpRouter {
  private routes: Route[] = [];
  private guard: RouteGuard | undefined;

  constructor(
    private readonly maxBodyBytes = 1024 * 1024,
    private readonly onResponse?: (status: number) => void,
  ) {}

  on(method: string, pattern: string, handler: HttpHandler): this {
    const parts = pattern.split("/").filter(Boolean);
    this.routes.push({ method, parts, handler, key: `${method} /${parts.join("/")}` });
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

  async handle(req: NodeRequest, res: NodeResponse): Promise<void> {
    let rid = header(req, "x-request-id") ?? header(req, "x-ojs-request-id");
    if (!rid || rid.length > 200) rid = `req_${uuidv7()}`;
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const segs = url.pathname.split("/").filter(Boolean);
      let params: Record<string, string> | undefined;
      let route: Route | undefined;
      let pathKnown = false;
      for (const r of this.routes) {
        const p = match(r.parts, segs);
        if (p === undefined) continue;
        pathKnown = true;
        if (r.method === req.method) {
          route = r;
          params = p;
          break;
        }
      }
      this.guard?.(req, res, route?.key);
      if (!route) {
        req.resume();
        if (pathKnown) throw new OjsError(`${req.method} is not allowed on ${url.pathname}`, { code: "method_not_allowed" });
        throw new OjsError(`no route for ${req.method} ${url.pathname}`, { code: "not_found" });
      }
      const body = await readBody(req, this.maxBodyBytes);
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
      if ("stream" in result) {
        this.onResponse?.(200);
        result.stream(res, rid);
        return;
      }
      this.onResponse?.(result.status);
      if (result.text !== undefined) sendText(res, result.status, result.text, rid, result.headers);
      else send(res, result.status, result.body, rid, result.headers);
    } catch (e) {
      const { status, body, headers } = errorBody(e, rid);
      this.onResponse?.(status);
      if (status === 413) headers.connection = "close";
      send(res, status, body, rid, headers);
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

async function readBody(req: NodeRequest, limit: number): Promise<JsonValue> {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "DELETE" || req.method === "OPTIONS") {
    // Bodies on these methods are not part of the binding; drain and ignore them.
    req.resume();
    return {};
  }
  const declared = Number(header(req, "content-length") ?? NaN);
  if (declared > limit) {
    drain(req);
    throw new OjsError(`request body of ${declared} bytes exceeds the limit of ${limit}`, { code: "payload_too_large" });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      drain(req);
      throw new OjsError(`request body exceeds the limit of ${limit} bytes`, { code: "payload_too_large" });
    }
    chunks.push(chunk);
  }
  if (size === 0) return {};
  const ct = (header(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  // A body must say it is JSON. Browsers send a cross-site POST without a preflight
  // only with no content type or a "simple" one (text/plain, forms): such a body is refused.
  if (!JSON_TYPES.has(ct) && !ct.endsWith("+json"))
    throw new OjsError(ct ? `content type ${ct} is not supported` : "a request body needs Content-Type: application/json", { code: "unsupported_media_type" });
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString("utf8")) as JsonValue;
  } catch (e) {
    throw new ValidationError(`request body is not valid JSON: ${(e as Error).message}`, { code: "invalid_payload" });
  }
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

export function send(res: NodeResponse, status: number, body: JsonValue | undefined, rid: string, extra?: Record<string, string>): void {
  if (res.headersSent) return;
  const payload = body === undefined || status === 204 ? "" : JSON.stringify(body);
  const headers = { ...baseHeaders(rid), ...(extra ?? {}) };
  headers["content-length"] = String(Buffer.byteLength(payload));
  (res as ServerResponse).writeHead(status, headers);
  res.end(payload);
}

function sendText(res: NodeResponse, status: number, text: string, rid: string, extra?: Record<string, string>): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { ...baseHeaders(rid), "content-type": "text/plain", ...(extra ?? {}) };
  headers["content-length"] = String(Buffer.byteLength(text));
  (res as ServerResponse).writeHead(status, headers);
  res.end(text);
}

/** The standard error body (HTTP binding §16.1) for anything a handler threw. */
export function errorBody(e: unknown, rid: string): { status: number; body: JsonObject; headers: Record<string, string> } {
  const err = e instanceof OjsError ? e : new OjsError(e instanceof Error ? e.message : String(e), { code: "internal_error" });
  const spec = errorSpec(err.code);
  // `type` repeats the code for readers of the older error shape (a level-1 case reads it).
  const error: JsonObject = { code: err.code, type: err.code, message: err.message, retryable: err.retryable };
  if (err.details) error.details = err.details;
  if (err instanceof ValidationError && err.issues.length)
    error.details = { ...(err.details ?? {}), validation_errors: err.issues.map((i) => ({ path: i.path, message: i.message })) };
  error.request_id = rid;
  error.hint = HINTS[err.code] ?? "See the error code in the OJS specification.";
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
