/**
 * The OJS HTTP/JSON binding over node:http with a keep-alive agent (several
 * times faster per call than global fetch, and sockets are reused).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { EventFilter, OjsEvent } from "../../model/events.js";
import { ConnectionError } from "../../model/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { authHeaders, TRANSPORT_OPTION_KEYS, type TransportOptions } from "../options.js";
import { checkHttpUrl, checkOptionKeys, type KeyList } from "../../util/options.js";
import type { CallOptions, Transport } from "../transport.js";
import { callOptionsOf, OperationMethods } from "../executor.js";
import { OPERATIONS, type OperationName } from "../operations.js";
import type { HttpBinding } from "../operation-spec.js";
import { fromHttpResponse, fromNetworkError } from "./errors.js";
import { httpAdmin } from "./admin.js";
import type { AdminTransport } from "../admin.js";
import { httpWebhooks } from "./webhooks.js";
import type { WebhookTransport } from "../webhooks.js";
import { eventStream } from "./event-stream.js";
import { fillPath } from "./query.js";

export const OJS_CONTENT_TYPE = "application/openjobspec+json";

export type HttpTransportOptions = TransportOptions & {
  /** Sockets kept open per host; default 64. */
  maxSockets?: number;
};

const HTTP_OPTION_KEYS: KeyList<HttpTransportOptions> = { ...TRANSPORT_OPTION_KEYS, maxSockets: true };

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: JsonValue | undefined;
}

export class HttpTransport extends OperationMethods implements Transport {
  readonly name = "http";
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly secure: boolean;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private closed = false;
  /** The admin-api extension: every operation is a request under /ojs/v1/admin/. */
  readonly admin: AdminTransport = httpAdmin(this);
  /** The webhooks extension: every operation is a request under /ojs/v1/webhooks/. */
  readonly webhooks: WebhookTransport = httpWebhooks(this);

  /** Checks the options (unknown keys, a URL that is not http(s)); connects at the first call. */
  constructor(opts: HttpTransportOptions) {
    super();
    checkOptionKeys(opts, HTTP_OPTION_KEYS, "httpTransport");
    this.base = checkHttpUrl(opts.url);
    this.secure = this.base.protocol === "https:";
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 64, keepAliveMsecs: 1000 };
    this.agent = this.secure
      ? new HttpsAgent({
          ...agentOpts,
          ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}),
          ...(opts.tls?.cert ? { cert: opts.tls.cert } : {}),
          ...(opts.tls?.key ? { key: opts.tls.key } : {}),
          rejectUnauthorized: !opts.tls?.insecureSkipVerify,
        })
      : new HttpAgent(agentOpts);
    this.headers = { accept: OJS_CONTENT_TYPE, ...(opts.headers ?? {}), ...authHeaders(opts.auth) };
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /**
   * One request/response. Resolves with any HTTP status; rejects only for
   * network failures, the deadline, or the caller's abort.
   */
  request(method: string, path: string, body: JsonValue | undefined, opts: CallOptions | undefined, operation: string): Promise<HttpResponse> {
    if (this.closed) return Promise.reject(new ConnectionError("the transport is closed", { operation }));
    // Checked before the request exists: a request created and then left without an
    // "error" listener throws "socket hang up" uncaught when its socket closes later.
    if (opts?.signal?.aborted) return Promise.reject(fromNetworkError(new Error("aborted"), operation, "signal"));
    return new Promise<HttpResponse>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string> = { ...this.headers, ...(opts?.headers ?? {}) };
      if (payload) {
        headers["content-type"] = OJS_CONTENT_TYPE;
        headers["content-length"] = String(payload.length);
      }
      let aborted: "timeout" | "signal" | undefined;
      const send = this.secure ? httpsRequest : httpRequest;
      const req = send({
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port,
        path: this.base.pathname.replace(/\/$/, "") + path,
        method,
        headers,
        agent: this.agent,
      });
      const signal = opts?.signal;
      const onAbort = () => {
        aborted = "signal";
        req.destroy(new Error("aborted"));
      };
      const timeoutMs = opts?.timeoutMs ?? this.timeoutMs;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              aborted = "timeout";
              req.destroy(new Error("timeout"));
            }, timeoutMs)
          : undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        // Removing the very listener we added: a long-lived signal must not collect one per call.
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e) => {
        cleanup();
        reject(fromNetworkError(e, operation, aborted));
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (e) => {
          cleanup();
          reject(fromNetworkError(e, operation, aborted));
        });
        res.on("end", () => {
          cleanup();
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: JsonValue | undefined;
          if (text) {
            try {
              parsed = JSON.parse(text) as JsonValue;
            } catch {
              // Proxies answer with HTML; the status still tells what happened.
              parsed = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      });
      req.end(payload);
    });
  }

  /** request() that turns non-2xx answers into OjsErrors and returns the JSON object body. */
  async call(method: string, path: string, body: JsonValue | undefined, opts: CallOptions | undefined, operation: string): Promise<JsonObject> {
    const res = await this.request(method, path, body, opts, operation);
    if (res.status < 200 || res.status >= 300) throw fromHttpResponse(res.status, res.body, res.headers, operation, `${method} ${path.split("?")[0]}`);
    return isJsonObject(res.body) ? res.body : {};
  }

  /** One row of the operation table over this binding. */
  protected unary(op: OperationName, args: unknown[]): Promise<unknown> {
    return this.exchange(OPERATIONS[op].http as unknown as HttpBinding<unknown[], unknown>, args, callOptionsOf(op, args), op);
  }

  /** One request described by a binding (a row of an operation table): request, status check, answer. */
  async exchange<P extends unknown[], O>(b: HttpBinding<P, O>, args: P, opts: CallOptions | undefined, operation: string): Promise<O> {
    const parts = b.request?.(args) ?? {};
    const path = fillPath(b.path, parts.params) + (parts.query ?? "");
    if (parts.minTimeoutMs !== undefined) opts = { ...(opts ?? {}), timeoutMs: Math.max(opts?.timeoutMs ?? this.timeoutMs, parts.minTimeoutMs) };
    const res = await this.request(b.method, path, parts.body, opts, operation);
    if ((res.status < 200 || res.status >= 300) && !b.answers?.includes(res.status)) {
      const e = fromHttpResponse(res.status, res.body, res.headers, operation, `${b.method} ${path.split("?")[0]}`);
      const recovered = b.recover?.(e, args);
      if (recovered) return recovered.value;
      throw e;
    }
    return b.response(isJsonObject(res.body) ? res.body : {}, args);
  }

  // --- events -----------------------------------------------------------------------------------

  async *streamEvents(filter: EventFilter, opts: CallOptions & { signal: AbortSignal; lastEventId?: string }): AsyncIterable<OjsEvent> {
    if (this.closed) throw new ConnectionError("the transport is closed", { operation: "streamEvents" });
    yield* eventStream({ base: this.base, secure: this.secure, headers: this.headers }, filter, opts);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }
}

/** An HTTP/JSON transport, to pass as `transport` when the defaults do not fit. */
export function httpTransport(opts: HttpTransportOptions): HttpTransport {
  return new HttpTransport(opts);
}
