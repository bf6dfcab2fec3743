/**
 * One port for everything: gRPC, gRPC-Web and Connect (connect-node's adapter)
 * and the OJS HTTP/JSON binding, over HTTP/2 cleartext (h2c, prior knowledge)
 * and HTTP/1.1 alike. The first bytes of each connection pick the protocol.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createServer as createHttp1Server, type Server as Http1Server, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { ServerCore } from "./core.js";
import { rawGrpcHandler } from "./grpc/raw.js";
import { grpcRoutes } from "./grpc/service.js";
import { httpRoutes } from "./http/routes.js";
import { HttpRouter, type NodeRequest, type NodeResponse } from "./http/router.js";
import type { SchemaValidationMode } from "./store/schemas.js";
import type { StoreOptions } from "./store/store.js";
import { Journal, type FsyncMode } from "./store/journal/journal.js";

export interface ServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the embedded server is for local use unless you say otherwise. */
  host?: string;
  /** Reservation of a fetched job when neither the job nor the worker sets one; default 30 000 ms. */
  visibilityTimeoutMs?: number;
  /** Largest accepted HTTP/JSON request body; default 1 MiB. */
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
  /** Store clock and randomness, for tests. */
  store?: Pick<StoreOptions, "clock" | "random">;
}

export interface OjsServer extends AsyncDisposable {
  /** Base URL, e.g. "http://127.0.0.1:8080": the same for gRPC and HTTP clients. */
  readonly url: string;
  readonly port: number;
  /** The state behind the server, for tests and the testing toolkit. */
  readonly core: ServerCore;
  /** Drops every job, queue, worker, event, workflow, cron schedule and schema. */
  reset(): void;
  /** Stops accepting, ends open streams, closes connections and timers. Idempotent. */
  close(): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export async function startServer(opts: ServerOptions = {}): Promise<OjsServer> {
  const core = new ServerCore({
    ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
    ...(opts.maxFinishedJobs !== undefined ? { maxFinishedJobs: opts.maxFinishedJobs } : {}),
    ...(opts.maxDeadLetter !== undefined ? { maxDeadLetter: opts.maxDeadLetter } : {}),
    ...(opts.schemaValidation !== undefined ? { schemaValidation: opts.schemaValidation } : {}),
    ...(opts.conformanceHooks !== undefined ? { conformanceHooks: opts.conformanceHooks } : {}),
    ...(opts.store ?? {}),
  });
  if (opts.fsync !== undefined && opts.fsync !== "always" && opts.fsync !== "none") throw new TypeError(`fsync: must be "always" or "none", not ${String(opts.fsync)}`);
  if (opts.dataDir !== undefined) {
    core.journal = await Journal.open(core, {
      dir: opts.dataDir,
      ...(opts.fsync ? { fsync: opts.fsync } : {}),
      ...(opts.journalCompactAtBytes !== undefined ? { compactAtBytes: opts.journalCompactAtBytes } : {}),
    });
  }
  const router = httpRoutes(core, new HttpRouter(opts.maxBodyBytes, (status) => core.count(`${Math.floor(status / 100)}xx`)));
  // Writes are answered once durable. Fetch and heartbeat need not wait: a claim or lease
  // extension lost in a crash only means the job is offered again (at-least-once).
  if (core.journal) router.beforeReply = (method, path) => (method === "GET" || /\/workers\/(fetch|heartbeat)$/.test(path) ? undefined : core.durable());
  const adapter = connectNodeAdapter({
    routes: grpcRoutes(core),
    // connect-node answers its own routes; everything else is the OJS HTTP binding,
    // except gRPC calls to methods this server lacks, which get a gRPC UNIMPLEMENTED.
    fallback: (req, res) => {
      if (isGrpc(req as NodeRequest)) return unimplemented(req as NodeRequest, res as unknown as NodeResponse);
      void router.handle(req as NodeRequest, res as unknown as NodeResponse);
    },
    readMaxBytes: opts.maxBodyBytes ?? 4 * 1024 * 1024,
  });
  // The hot gRPC methods (job stream, fast path, batch) skip connect's per-call machinery.
  const raw = rawGrpcHandler(core);
  const handler = (req: NodeRequest, res: NodeResponse): void => {
    if (raw(req as Http2ServerRequest, res as Http2ServerResponse)) return;
    if (isGrpc(req)) parseErrorsAsInvalidArgument(res);
    (adapter as (req: NodeRequest, res: NodeResponse) => void)(req, res);
  };

  const h2 = createHttp2Server({}, handler as Parameters<typeof createHttp2Server>[1]);
  const h1 = createHttp1Server({ keepAlive: true }, handler as Parameters<typeof createHttp1Server>[1]);
  h1.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  const net = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.once("readable", () => routeConnection(socket, h1, h2));
  });

  await new Promise<void>((resolve, reject) => {
    // Nothing listens: let the next server have the data directory.
    const failed = (e: Error) => void (core.journal?.close() ?? Promise.resolve()).finally(() => reject(e));
    net.once("error", failed);
    net.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      net.off("error", failed);
      resolve();
    });
  });
  const addr = net.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      core.draining = true;
      core.close();
      await core.journal?.close();
      await new Promise<void>((resolve) => {
        net.close(() => resolve());
        for (const s of sessions) s.close();
        h1.closeIdleConnections();
        // Streams (StreamJobs, SSE) never end on their own: cut what is left after a moment.
        const t = setTimeout(() => {
          for (const s of sessions) s.destroy();
          for (const sock of sockets) sock.destroy();
        }, 200);
        t.unref();
      });
    })();
    return closing;
  };

  return {
    url,
    port: addr.port,
    core,
    reset: () => core.reset(),
    close,
    [Symbol.asyncDispose]: close,
  };
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

/**
 * connect-node reports a request message it cannot decode as INTERNAL (as
 * grpc-go and grpc-java do). To an OJS client INTERNAL means a retryable
 * server fault, so it would resend the same broken bytes; the caller's
 * mistake is INVALID_ARGUMENT, and the status is corrected on its way out.
 */
function parseErrorsAsInvalidArgument(res: NodeResponse): void {
  const r = res as ServerResponse;
  const addTrailers = r.addTrailers.bind(r);
  r.addTrailers = (headers) => {
    const h = headers as Record<string, string | string[] | number | undefined>;
    if (String(h["grpc-status"]) === "13" && /^parse(%20| )(binary|json)/.test(String(h["grpc-message"] ?? ""))) h["grpc-status"] = "3";
    addTrailers(headers);
  };
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
