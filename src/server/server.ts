/**
 * One port for everything: gRPC, gRPC-Web and Connect (connect-node's adapter)
 * and the OJS HTTP/JSON binding, over HTTP/2 cleartext (h2c, prior knowledge)
 * and HTTP/1.1 alike. The first bytes of each connection pick the protocol;
 * with TLS, ALPN picks it (./tls.ts). Every request passes the access check
 * (./auth) before any handler runs.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createServer as createHttp1Server, type Server as Http1Server, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { setupSecurity, type SecurityOptions } from "./auth/setup.js";
import { ConnectionGuard, type ConnectionLimitOptions } from "./connections.js";
import { ServerCore } from "./core.js";
import { registerServerCore } from "./internal.js";
import { rawGrpcHandler } from "./grpc/raw.js";
import { rawUnaryHandler } from "./grpc/raw-unary.js";
import { correctGrpcStatus } from "./grpc/status-fixes.js";
import { grpcRoutes } from "./grpc/service.js";
import { httpRoutes, MAX_LONG_POLL_MS } from "./http/routes.js";
import { defaultUiDir, loadUiAssets } from "./http/ui-routes.js";
import type { UiOptions } from "./http/ui-options.js";
import { HttpRouter, type NodeRequest, type NodeResponse, type ResponseInfo } from "./http/router.js";
import { errorText, resolveLogger, type LoggerOption } from "../util/logger.js";
import type { Limits } from "../model/limits.js";
import type { SchemaValidationMode } from "./store/schemas.js";
import type { StoreOptions } from "./store/store.js";
import type { WebhookDeliveryOptions } from "./webhooks/deliveries.js";
import { tlsFront } from "./tls.js";
import type { FsyncMode } from "./store/journal/journal.js";
import { attachJobStore, selectJobStore } from "./job-stores.js";

/** Connection limits and timeouts, keepalive and job caps: docs/connections.md. */
export interface ServerOptions extends SecurityOptions, ConnectionLimitOptions {
  /** Most unsettled jobs pushed to one StreamJobs stream (its max_concurrent is clamped); default 1 000. */
  maxInFlightPerStream?: number;
  /** Most unsettled jobs one worker id holds over all its streams and fetches; default 1 000. */
  maxInFlightPerWorker?: number;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Webhook deliveries (README "Webhooks"): retry delays, timeout, per-subscription queue bound; defaults per ojs-webhooks.md §7. */
  webhooks?: WebhookDeliveryOptions;
  /** Default 127.0.0.1: the embedded server is for local use unless you say otherwise (another address needs `auth` or `allowInsecure`). */
  host?: string;
  /** Reservation of a fetched job when neither the job nor the worker sets one; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /**
   * What a request may carry, on both bindings: depth of JSON values, sizes of
   * a message, args, meta, a batch, a result, and the bytes of unfinished jobs
   * the server holds. Defaults and reasons in docs/limits.md.
   */
  limits?: Partial<Limits>;
  /** @deprecated The same as `limits.maxMessageBytes`, which wins when both are given. */
  maxBodyBytes?: number;
  /** Finished jobs kept readable; default 100 000. */
  maxFinishedJobs?: number;
  /** Dead-letter capacity; default 10 000. */
  maxDeadLetter?: number;
  /** How enqueued args are checked against registered schemas: "off", "warn" (default) or "strict". */
  schemaValidation?: SchemaValidationMode;
  /**
   * Test hooks of the official conformance cases (docs/conformance.md). For test
   * harnesses only; off by default.
   */
  conformanceHooks?: boolean;
  /**
   * Where the server reports its own faults: one line per 5xx answer (HTTP) or
   * INTERNAL status (gRPC). Default stderr; `false` silences it; any object with
   * info/warn/error receives the lines instead.
   */
  logger?: LoggerOption;
  /**
   * Serve the web dashboard at /ui/ (queues, jobs, workflows, cron, live
   * events; README "Dashboard"). Off by default here; `ojs-connect serve` turns
   * it on. Its data comes from the admin API, under the same authentication.
   * An object turns it on with settings: `{ codecServer }` lets the page call
   * a Codec Server to show encoded payloads decoded (docs/encryption.md).
   */
  ui?: boolean | UiOptions;
  /**
   * Keep state in this directory (the durable journal store, docs/stores.md):
   * every acknowledged enqueue, ack and nack survives a crash. Without it state
   * lives in memory only.
   */
  dataDir?: string;
  /**
   * With `dataDir`: "always" (default) syncs every group commit to stable
   * storage before answering; "none" survives a process crash, not a power loss.
   */
  fsync?: FsyncMode;
  /** With `dataDir`: compact the journal beyond this size (bytes); default 64 MiB. */
  journalCompactAtBytes?: number;
  /**
   * Offer ojs-connect's private fast path to ojs-connect clients (default
   * true). False makes the server a standard ojs.v1 server over gRPC: clients
   * use the standard unary methods, as they do with any other server.
   */
  fastPath?: boolean;
  /**
   * Where jobs live besides `dataDir`: a PostgreSQL URL ("postgres://user@host/db")
   * lets several servers share one database (docs/stores.md "PostgreSQL").
   * An object instead sets the in-process store's clock and randomness, for tests.
   */
  store?: string | Pick<StoreOptions, "clock" | "random">;
}

export interface OjsServer extends AsyncDisposable {
  /** Base URL, e.g. "http://127.0.0.1:8080" ("https://" with TLS): the same for gRPC and HTTP clients. */
  readonly url: string;
  readonly port: number;
  /** Drops every job, queue, worker, event, workflow, cron schedule and schema. */
  reset(): void;
  /** Stops accepting, ends open streams, closes connections and timers. Idempotent. */
  close(): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export async function startServer(opts: ServerOptions = {}): Promise<OjsServer> {
  const { access, tls } = setupSecurity(opts, opts.host ?? "127.0.0.1");
  const core = new ServerCore({
    ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
    ...(opts.maxFinishedJobs !== undefined ? { maxFinishedJobs: opts.maxFinishedJobs } : {}),
    ...(opts.maxDeadLetter !== undefined ? { maxDeadLetter: opts.maxDeadLetter } : {}),
    ...(opts.schemaValidation !== undefined ? { schemaValidation: opts.schemaValidation } : {}),
    ...(opts.conformanceHooks !== undefined ? { conformanceHooks: opts.conformanceHooks } : {}),
    ...(opts.fastPath !== undefined ? { fastPath: opts.fastPath } : {}),
    ...(opts.webhooks !== undefined ? { webhooks: opts.webhooks } : {}),
    limits: { ...(opts.maxBodyBytes !== undefined ? { maxMessageBytes: opts.maxBodyBytes } : {}), ...(opts.limits ?? {}) },
    inFlight: {
      ...(opts.maxInFlightPerStream !== undefined ? { perStream: opts.maxInFlightPerStream } : {}),
      ...(opts.maxInFlightPerWorker !== undefined ? { perWorker: opts.maxInFlightPerWorker } : {}),
    },
    ...(typeof opts.store === "object" ? opts.store : {}),
  });
  const limits = core.limits;
  const guard = new ConnectionGuard(opts, (name) => core.count(name));
  const logger = resolveLogger(opts.logger, "startServer");
  core.onFault = (error, where) => logger.error(`ojs-connect server: ${where} failed: ${errorText(error)}`, { error });
  const onResponse = (status: number, info: ResponseInfo) => {
    core.count(`${Math.floor(status / 100)}xx`);
    if (status >= 500 && status !== 501 && status !== 503)
      core.fault(info.error ?? `status ${status}`, `${info.method} ${info.path} (request ${info.requestId}, ${status})`);
  };
  if (opts.fsync !== undefined && opts.fsync !== "always" && opts.fsync !== "none")
    throw new TypeError(`fsync: must be "always" or "none", not ${String(opts.fsync)}`);
  // Where state lives: the one place a store is chosen (job-stores.ts).
  await attachJobStore(core, selectJobStore({ ...opts, ...(typeof opts.store === "string" ? { storeUrl: opts.store } : {}) }));
  const router = httpRoutes(
    core,
    new HttpRouter(limits.maxMessageBytes, onResponse, limits.maxDepth),
    opts.ui ? loadUiAssets(defaultUiDir(), opts.ui === true ? {} : opts.ui) : undefined,
  );
  router.useGuard((req, res, route) => access.authorizeRoute(req, res, route));
  access.onRefusal = (reason) => core.count(`refused_${reason}`);
  // Writes are answered once durable. Fetch and heartbeat need not wait: a claim or lease
  // extension lost in a crash only means the job is offered again (at-least-once).
  router.beforeReply = (method, path) => (method === "GET" || /\/workers\/(fetch|heartbeat)$/.test(path) ? undefined : core.durable());
  const adapter = connectNodeAdapter({
    routes: grpcRoutes(core),
    // connect-node answers its own routes; everything else is the OJS HTTP binding,
    // except gRPC calls to methods this server lacks, which get a gRPC UNIMPLEMENTED.
    fallback: (req, res) => {
      if (isGrpc(req as NodeRequest)) return unimplemented(req as NodeRequest, res as unknown as NodeResponse);
      void router.handle(req as NodeRequest, res as unknown as NodeResponse);
    },
    readMaxBytes: limits.maxMessageBytes,
  });
  // The hot gRPC methods (job stream, fast path, batch) skip connect's per-call machinery.
  const raw = rawGrpcHandler(core);
  const rawUnary = rawUnaryHandler(core);
  const handler = (req: NodeRequest, res: NodeResponse): void => {
    guard.request(req as Http2ServerRequest, res as Http2ServerResponse);
    if (guard.overCap(req as Http2ServerRequest)) return guard.busy(req as Http2ServerRequest, res as ServerResponse);
    if (!access.admit(req, res)) return;
    if (isGrpc(req)) core.countGrpcCall(req.url ?? "");
    if (raw(req as Http2ServerRequest, res as Http2ServerResponse) || rawUnary(req as Http2ServerRequest, res as Http2ServerResponse)) return;
    if (isGrpc(req)) correctGrpcStatus(req, res, limits.maxMessageBytes);
    (adapter as (req: NodeRequest, res: NodeResponse) => void)(req, res);
  };

  const h2 = createHttp2Server({ settings: guard.http2Settings }, handler as Parameters<typeof createHttp2Server>[1]);
  const h1 = createHttp1Server({ keepAlive: true, ...guard.http1Options }, handler as Parameters<typeof createHttp1Server>[1]);
  guard.configureHttp1(h1, MAX_LONG_POLL_MS);
  const secure = tls && tlsFront(tls, h1, h2, (wrapper, accepted) => guard.adopt(wrapper, accepted));
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  h2.on("session", (s) => {
    guard.attachSession(s);
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  const net = createNetServer((socket) => {
    guard.accept(socket);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    if (secure) secure(socket);
    else socket.once("readable", () => routeConnection(socket, h1, h2));
  });

  net.maxConnections = guard.listenerCap;
  net.on("drop", () => core.count("connections.dropped"));

  await new Promise<void>((resolve, reject) => {
    // Nothing listens: let the next server have the data directory.
    const failed = (e: Error) => void core.jobs.close().finally(() => reject(e));
    net.once("error", failed);
    net.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      net.off("error", failed);
      resolve();
    });
  });
  const addr = net.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `${tls ? "https" : "http"}://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      core.draining = true;
      core.close();
      guard.close();
      h1.close();
      await core.jobs.close();
      await new Promise<void>((resolve) => {
        // Streams (StreamJobs, SSE) never end on their own: cut what is left after a moment.
        const t = setTimeout(() => {
          for (const s of sessions) s.destroy();
          for (const sock of sockets) sock.destroy();
        }, 200);
        t.unref();
        // Cleared once closed: its closure holds the whole server (a million jobs in a journal's store)
        // alive past close(), and a new server started at once would start beside that heap.
        net.close(() => (clearTimeout(t), resolve()));
        for (const s of sessions) s.close();
        h1.closeIdleConnections();
      });
    })();
    return closing;
  };

  const server: OjsServer = {
    url,
    port: addr.port,
    reset: () => core.reset(),
    close,
    [Symbol.asyncDispose]: close,
  };
  registerServerCore(server, core);
  return server;
}

function isGrpc(req: NodeRequest): boolean {
  const ct = req.headers["content-type"];
  return typeof ct === "string" && ct.startsWith("application/grpc");
}

/** A trailers-only gRPC answer: the status travels in the headers of an empty 200 response. */
function unimplemented(req: NodeRequest, res: NodeResponse): void {
  req.resume();
  (res as ServerResponse).writeHead(200, {
    "content-type": String(req.headers["content-type"]),
    "grpc-status": "12",
    "grpc-message": encodeURIComponent(`${req.url ?? ""} is not a method of this server`),
  });
  res.end();
}

/** Peeks at the first bytes: the HTTP/2 preface goes to the h2c server, anything else to HTTP/1.1. */
function routeConnection(socket: Socket, h1: Http1Server, h2: Http2Server): void {
  const first = socket.read() as Buffer | null;
  if (first === null) {
    socket.once("readable", () => routeConnection(socket, h1, h2));
    return;
  }
  // Too few bytes to decide yet: wait for more, unless they already cannot be the preface.
  if (first.length < H2_PREFACE.length && H2_PREFACE.subarray(0, first.length).equals(first)) {
    socket.unshift(first);
    socket.once("readable", () => {
      const more = socket.read() as Buffer | null;
      if (more) socket.unshift(more);
      routeConnection(socket, h1, h2);
    });
    return;
  }
  socket.unshift(first);
  const isH2 = first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE.subarray(0, Math.min(first.length, H2_PREFACE.length)));
  (isH2 ? h2 : h1).emit("connection", socket);
}
