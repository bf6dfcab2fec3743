/**
 * What keeps connections from piling up, for every listener of the server
 * (cleartext today; a TLS listener calls accept() with the TCP socket and
 * adopt() with the TLS socket it wraps it in):
 *
 * - a connection must send its first request within `headersTimeoutMs`;
 * - one with nothing in flight is closed after `idleTimeoutMs`;
 * - HTTP/2 sessions are pinged every `keepaliveIntervalMs` and destroyed when
 *   an answer takes longer than `keepaliveTimeoutMs` (a dead or frozen peer);
 * - past `maxConnections`, a new connection is answered, one request at a time,
 *   with 503 / RESOURCE_EXHAUSTED and Retry-After, then closed; a flood beyond
 *   that margin is dropped by the listener before it costs a file descriptor;
 * - `maxStreamsPerConnection` is advertised in HTTP/2 SETTINGS (streams beyond
 *   it are refused, and gRPC clients retry them).
 *
 * Defaults and why: docs/connections.md. Every close is counted (`count`), so
 * /metrics and tests can see the fault happen.
 */
import type { ServerResponse } from "node:http";
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";
import { ValidationError } from "../model/errors.js";

export interface ConnectionLimitOptions {
  /** A new connection must send its first request (all its headers) within this; default 10 000 ms. */
  headersTimeoutMs?: number;
  /** A connection with no request in flight is closed after this; default 65 000 ms. */
  idleTimeoutMs?: number;
  /** Open connections at most; past it requests are answered 503 / RESOURCE_EXHAUSTED. Default 4 096. */
  maxConnections?: number;
  /** HTTP/2 streams in flight on one connection at most; default 250. */
  maxStreamsPerConnection?: number;
  /** HTTP/2 keepalive ping interval of the server; default 5 000 ms. */
  keepaliveIntervalMs?: number;
  /** How long a ping may go unanswered before the connection is destroyed; default 5 000 ms. */
  keepaliveTimeoutMs?: number;
}

export type ConnectionLimits = Required<ConnectionLimitOptions>;

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 65_000,
  maxConnections: 4096,
  maxStreamsPerConnection: 250,
  keepaliveIntervalMs: 5_000,
  keepaliveTimeoutMs: 5_000,
});

/** Connections past the cap that are still accepted to be told "busy"; beyond, the listener drops them. */
const OVERFLOW_MARGIN = 64;
/** What Retry-After says to a client turned away at the connection cap. */
const RETRY_AFTER_S = 1;

export function connectionLimits(o: ConnectionLimitOptions = {}): ConnectionLimits {
  const out = { ...DEFAULT_CONNECTION_LIMITS };
  for (const k of Object.keys(out) as Array<keyof ConnectionLimits>) {
    const v = o[k];
    if (v === undefined) continue;
    const min = k === "maxConnections" || k === "maxStreamsPerConnection" ? 1 : 10;
    if (!Number.isInteger(v) || v < min) throw new ValidationError(`${k}: must be an integer >= ${min}, got ${v}`);
    out[k] = v;
  }
  return out;
}

const kConn = Symbol("ojs.connection");

interface Conn {
  readonly socket: Socket;
  readonly overflow: boolean;
  /** Requests (HTTP/1.1) or streams (HTTP/2) in flight. */
  inFlight: number;
  sawRequest: boolean;
  timer: NodeJS.Timeout | undefined;
  session: Http2Session | undefined;
}

export class ConnectionGuard {
  readonly limits: ConnectionLimits;
  private readonly conns = new Set<Conn>();

  constructor(
    opts: ConnectionLimitOptions,
    private readonly count: (name: string) => void,
  ) {
    this.limits = connectionLimits(opts);
  }

  /** For net.Server#maxConnections: the cap plus the margin answered "busy". */
  get listenerCap(): number {
    return this.limits.maxConnections + OVERFLOW_MARGIN;
  }

  get open(): number {
    return this.conns.size;
  }

  /** HTTP/2 server settings this guard relies on. */
  get http2Settings(): { maxConcurrentStreams: number } {
    return { maxConcurrentStreams: this.limits.maxStreamsPerConnection };
  }

  /** A new connection (the socket HTTP is spoken on). */
  accept(socket: Socket): void {
    const conn: Conn = {
      socket,
      overflow: this.conns.size >= this.limits.maxConnections,
      inFlight: 0,
      sawRequest: false,
      timer: undefined,
      session: undefined,
    };
    if (conn.overflow) this.count("connections.over_cap");
    this.conns.add(conn);
    (socket as Socket & { [kConn]?: Conn })[kConn] = conn;
    socket.once("close", () => {
      clearTimeout(conn.timer);
      this.conns.delete(conn);
    });
    // HTTP/1.1 closes through Node's own socket timeouts (configureHttp1): count them.
    socket.on("timeout", () => {
      if (!conn.session && conn.sawRequest) this.count(conn.inFlight === 0 ? "connections.idle_timeout" : "connections.request_timeout");
    });
    this.arm(conn, this.limits.headersTimeoutMs, "connections.header_timeout");
  }

  /**
   * A listener that wraps an accepted socket (TLS) speaks HTTP on the wrapper:
   * requests and sessions then find the connection through it. Call once the
   * wrapper exists, before it is handed to the HTTP/1.1 or HTTP/2 server.
   */
  adopt(wrapper: Socket, accepted: Socket): void {
    const conn = connOf(accepted);
    if (conn) (wrapper as Socket & { [kConn]?: Conn })[kConn] = conn;
  }

  /** Options for http.createServer: how often Node checks for requests whose headers are late. */
  get http1Options(): { connectionsCheckingInterval: number } {
    return { connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(this.limits.headersTimeoutMs / 4))) };
  }

  /**
   * HTTP/1.1 settings: headers late on a kept-alive connection (a slow second
   * request), in-request silence and keep-alive idleness close the socket too.
   * Node checks `headersTimeout` only on a server that emitted 'listening'; ours
   * never listens (the net server hands it sockets), so it is told it does, and
   * close() must be called on it to stop the check.
   */
  configureHttp1(
    server: { timeout: number; keepAliveTimeout: number; headersTimeout: number; requestTimeout: number; emit(e: "listening"): boolean },
    longestSilentResponseMs: number,
  ): void {
    // Node's keep-alive timer closes idle HTTP/1.1 sockets, and its "Keep-Alive: timeout=N"
    // hint tells clients to let go a little earlier, so none sends on a socket being closed.
    server.keepAliveTimeout = this.limits.idleTimeoutMs;
    // A request in progress may be silent while the server holds it (long poll, SSE between keepalives).
    server.timeout = Math.max(this.limits.idleTimeoutMs, longestSilentResponseMs + 5_000);
    server.headersTimeout = this.limits.headersTimeoutMs;
    server.requestTimeout = 0;
    server.emit("listening");
  }

  /** An HTTP/2 session on a guarded socket: count its streams and ping it. */
  attachSession(session: Http2Session): void {
    const conn = connOf(session.socket as Socket);
    if (conn) conn.session = session;
    session.on("stream", (stream) => {
      if (!conn) return;
      this.begin(conn);
      stream.once("close", () => this.end(conn));
    });
    this.keepalive(session);
  }

  /** Called for every HTTP/1.1 request; HTTP/2 streams are counted by attachSession. */
  request(req: { httpVersionMajor: number; socket: Socket }, res: { once(e: "close", f: () => void): unknown }): void {
    if (req.httpVersionMajor === 2) return;
    const conn = connOf(req.socket);
    if (!conn) return;
    this.begin(conn);
    res.once("close", () => this.end(conn));
  }

  /** Whether this request came on a connection past the cap: answer it with busy() and nothing else. */
  overCap(req: { socket: Socket }): boolean {
    return connOf(req.socket)?.overflow ?? false;
  }

  /**
   * 503 with Retry-After over HTTP, RESOURCE_EXHAUSTED (trailers-only, with
   * retry-after) over gRPC; then the connection closes, so the client's next
   * attempt opens a new one, which may fit under the cap.
   */
  busy(
    req: { headers: Record<string, string | string[] | undefined>; httpVersionMajor: number; socket: Socket; resume(): unknown },
    res: ServerResponse,
  ): void {
    req.resume();
    this.count("connections.busy_answered");
    const message = `the server is at its connection limit (${this.limits.maxConnections}); retry after ${RETRY_AFTER_S} s`;
    const ct = String(req.headers["content-type"] ?? "");
    const headers: Record<string, string> = { "retry-after": String(RETRY_AFTER_S) };
    if (ct.startsWith("application/grpc")) {
      res.writeHead(200, { ...headers, "content-type": ct, "grpc-status": "8", "grpc-message": encodeURIComponent(message) });
    } else {
      const body = JSON.stringify({ error: { code: "unavailable", message, retryable: true } });
      res.writeHead(503, { ...headers, "content-type": "application/json", ...(req.httpVersionMajor === 1 ? { connection: "close" } : {}) });
      res.end(body);
      if (req.httpVersionMajor === 2) connOf(req.socket)?.session?.close();
      return;
    }
    res.end();
    if (req.httpVersionMajor === 2) connOf(req.socket)?.session?.close();
  }

  /** Clears every timer (the server is closing). */
  close(): void {
    for (const c of this.conns) clearTimeout(c.timer);
  }

  private begin(conn: Conn): void {
    conn.sawRequest = true;
    conn.inFlight++;
    clearTimeout(conn.timer);
    conn.timer = undefined;
  }

  private end(conn: Conn): void {
    conn.inFlight = Math.max(0, conn.inFlight - 1);
    // HTTP/2 only: HTTP/1.1 idleness is Node's keep-alive timeout (configureHttp1).
    if (conn.inFlight === 0 && conn.session && !conn.socket.destroyed) this.arm(conn, this.limits.idleTimeoutMs, "connections.idle_timeout");
  }

  private arm(conn: Conn, ms: number, counter: string): void {
    clearTimeout(conn.timer);
    conn.timer = setTimeout(() => {
      conn.timer = undefined;
      if (conn.inFlight > 0 || conn.socket.destroyed) return;
      this.count(counter);
      // HTTP/2: GOAWAY first, so a client about to send learns to use a new connection.
      if (conn.session && !conn.session.destroyed) {
        conn.session.close();
        const t = setTimeout(() => conn.socket.destroy(), 1000);
        t.unref();
      } else conn.socket.destroy();
    }, ms);
    conn.timer.unref();
  }

  /** Pings the session; a peer that does not answer in time is gone (half-open link, frozen process). */
  private keepalive(session: Http2Session): void {
    const { keepaliveIntervalMs: every, keepaliveTimeoutMs: within } = this.limits;
    let waiting: NodeJS.Timeout | undefined;
    const interval = setInterval(() => {
      if (session.destroyed || session.closed) return;
      if (waiting) return;
      waiting = setTimeout(() => {
        waiting = undefined;
        if (session.destroyed) return;
        this.count("connections.keepalive_timeout");
        session.destroy();
      }, within);
      waiting.unref();
      try {
        session.ping((err) => {
          clearTimeout(waiting);
          waiting = undefined;
          // An error here means the session is going away anyway.
          void err;
        });
      } catch {
        // The session closed between the check and the ping.
        clearTimeout(waiting);
        waiting = undefined;
      }
    }, every);
    interval.unref();
    session.once("close", () => {
      clearInterval(interval);
      clearTimeout(waiting);
    });
  }
}

function connOf(socket: Socket | undefined): Conn | undefined {
  return (socket as (Socket & { [kConn]?: Conn }) | undefined)?.[kConn];
}
