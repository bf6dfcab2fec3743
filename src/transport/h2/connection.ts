/**
 * One HTTP/2 client connection (RFC 9113) over a TCP or TLS socket: the
 * preface and SETTINGS exchange, streams opened in order within the peer's
 * MAX_CONCURRENT_STREAMS (the rest wait, first come first served), flow
 * control both ways, PING (acks, and keepalive after silence), GOAWAY. Frames
 * arrive through ./reader.ts; everything sent goes through one FrameWriter.
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import * as F from "./frames.js";
import { H2ConnectionError } from "./frames.js";
import { HpackDecoder, HpackEncoder } from "./hpack.js";
import { FrameReader } from "./reader.js";
import { STREAM_HIGH_WATER, H2Stream, type StreamHandler } from "./stream.js";

/** This side's stream window (SETTINGS_INITIAL_WINDOW_SIZE) and connection window: large, so big answers are not throttled. */
export const STREAM_WINDOW = 8 * 1024 * 1024;
export const CONNECTION_WINDOW = 32 * 1024 * 1024;
/** The largest header list taken from the peer (announced as SETTINGS_MAX_HEADER_LIST_SIZE). */
export const MAX_HEADER_LIST = 1 << 20;

export interface H2TlsOptions {
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  rejectUnauthorized?: boolean | undefined;
}

export interface H2ConnectionOptions {
  /** Keepalive: a PING after this long without hearing from the peer while calls are open. */
  pingIntervalMs: number;
  /** The connection is given up when a PING is not answered within this. */
  pingTimeoutMs: number;
  tls?: H2TlsOptions | undefined;
}

/** What a connection tells the client that owns it. */
export interface ConnectionOwner {
  /** Streams that never left (the connection went away first): to open on another connection. */
  requeue(streams: H2Stream[]): void;
  /** The connection takes no new streams any more. */
  gone(conn: H2Connection): void;
}

export class H2Connection {
  private readonly socket: Socket;
  readonly out = new F.FrameWriter();
  private readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder(4096, MAX_HEADER_LIST);
  private readonly reader = new FrameReader(this);
  readonly streams = new Map<number, H2Stream>();
  private queue: H2Stream[] = [];
  private queueHead = 0;
  private nextId = 1;
  /** The peer's first SETTINGS has arrived: streams wait for it, so a burst never exceeds its limit. */
  ready = false;
  /** No new streams: GOAWAY received, or the connection failed. */
  goingAway = false;
  dead = false;
  private peerMaxStreams = Infinity;
  private peerInitialWindow = F.DEFAULT_WINDOW;
  peerMaxFrame = F.DEFAULT_MAX_FRAME_SIZE;
  /** Connection-level send window. */
  private window = F.DEFAULT_WINDOW;
  /** Received bytes not given back yet (connection level). */
  private unacked = 0;
  /** Streams with data held back by the connection window. */
  private blocked = new Set<H2Stream>();
  private readonly scheme: string;
  private readonly authority: string;
  private lastHeard = Date.now();
  private pingTimer: NodeJS.Timeout | undefined;
  private pingTimeout: NodeJS.Timeout | undefined;
  /** New streams wait for a PING's answer: the connection was idle long enough to be dead. */
  private verifying = false;

  constructor(
    url: URL,
    private readonly opts: H2ConnectionOptions,
    private readonly owner: ConnectionOwner,
  ) {
    this.scheme = url.protocol.slice(0, -1);
    this.authority = url.host;
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port) || (this.scheme === "https" ? 443 : 80);
    if (this.scheme === "https") {
      const t = opts.tls ?? {};
      this.socket = tlsConnect({
        host,
        port,
        ALPNProtocols: ["h2"],
        ...(isIP(host) ? {} : { servername: host }),
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.cert !== undefined ? { cert: t.cert } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}),
      });
      this.socket.once("secureConnect", () => {
        const alpn = (this.socket as Socket & { alpnProtocol?: string | false }).alpnProtocol;
        if (alpn !== "h2") this.fail(new Error(`the server did not agree to HTTP/2 (ALPN: ${alpn || "none"})`));
      });
    } else this.socket = netConnect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => {
      this.lastHeard = Date.now();
      // A PING ack held back while the calls waited (pingReceived) leaves with what these frames cause.
      const ackOwed = this.out.takeOwedAck();
      this.reader.push(chunk);
      if (ackOwed) this.out.flushSoon();
    });
    this.socket.on("error", (e) => this.fail(e));
    this.socket.on("close", () => this.fail(new Error("the connection closed")));
    // Preface, SETTINGS, and the connection window opened wide.
    const out = this.out;
    out.bytes(F.PREFACE, true);
    out.header(18, F.SETTINGS, 0, 0);
    out.uint16(F.SETTINGS_ENABLE_PUSH);
    out.uint32(0);
    out.uint16(F.SETTINGS_INITIAL_WINDOW_SIZE);
    out.uint32(STREAM_WINDOW);
    out.uint16(F.SETTINGS_MAX_HEADER_LIST_SIZE);
    out.uint32(MAX_HEADER_LIST);
    this.windowUpdate(0, CONNECTION_WINDOW - F.DEFAULT_WINDOW);
    out.attach(this.socket);
  }

  /** A new stream: it opens at once if the peer's limits allow, else when a slot frees up. */
  request(path: string, headers: Record<string, string>, handler: StreamHandler, context?: unknown): H2Stream {
    const s = new H2Stream(this, path, headers, handler, context);
    this.adopt(s);
    return s;
  }

  /** Takes a stream made for this or another connection. */
  adopt(s: H2Stream): void {
    s.conn = this;
    if (this.streams.size === 0 && this.queueHead === this.queue.length) {
      this.socket.ref();
      // Idle for longer than the keepalive interval: check the peer is there before sending (connect-node does the same).
      if (this.ready && !this.verifying && Date.now() - this.lastHeard > this.opts.pingIntervalMs) {
        this.verifying = true;
        this.ping();
      }
    }
    this.queue.push(s);
    this.startQueued();
  }

  /** Opens waiting streams while the peer's MAX_CONCURRENT_STREAMS allows. */
  private startQueued(): void {
    if (!this.ready || this.verifying || this.goingAway) return;
    const q = this.queue;
    while (this.queueHead < q.length && this.streams.size < this.peerMaxStreams) {
      const s = q[this.queueHead]!;
      q[this.queueHead++] = undefined as unknown as H2Stream;
      if (!s.closed) this.open(s);
      if (this.goingAway) break;
    }
    if (this.queueHead === q.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue = q.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private open(s: H2Stream): void {
    const id = this.nextId;
    this.nextId += 2;
    s.id = id;
    s.window = this.peerInitialWindow;
    this.streams.set(id, s);
    if (this.pingTimer === undefined) this.armPing(this.opts.pingIntervalMs);
    const enc = this.encoder;
    enc.begin();
    enc.add(":method", "POST");
    enc.add(":scheme", this.scheme);
    enc.add(":authority", this.authority);
    enc.add(":path", s.path);
    const h = s.headers;
    for (const k in h) enc.add(k, String(h[k]));
    const block = enc.end();
    const endNow = s.localEnded && s.pending === undefined;
    if (endNow) s.pendingEnd = false;
    this.writeHeaders(id, block, endNow);
    if (s.pending !== undefined || s.pendingEnd) this.flushPending(s);
    // Stream ids run out at 2^31: later requests go to a new connection.
    if (this.nextId > 0x7ffffff0) this.goAway();
  }

  private writeHeaders(id: number, block: Buffer, end: boolean): void {
    const max = this.peerMaxFrame;
    const endFlag = end ? F.FLAG_END_STREAM : 0;
    if (block.length <= max) {
      this.out.header(block.length, F.HEADERS, F.FLAG_END_HEADERS | endFlag, id);
      this.out.bytes(block, true);
      return;
    }
    this.out.header(max, F.HEADERS, endFlag, id);
    this.out.bytes(block.subarray(0, max), true);
    for (let off = max; off < block.length; off += max) {
      const part = block.subarray(off, Math.min(off + max, block.length));
      this.out.header(part.length, F.CONTINUATION, off + max >= block.length ? F.FLAG_END_HEADERS : 0, id);
      this.out.bytes(part, true);
    }
  }

  /** Stream writes (see H2Stream.write): sent now when the windows allow, held back otherwise. */
  write(s: H2Stream, data: Uint8Array | undefined, end: boolean): boolean {
    if (end) s.localEnded = true;
    const len = data ? data.length : 0;
    if (s.id !== 0 && s.pending === undefined && len <= s.window && len <= this.window) {
      if (len > 0 || end) this.sendData(s, data, end);
      return true;
    }
    if (len > 0) {
      (s.pending ??= []).push(Buffer.isBuffer(data) ? data : Buffer.from(data!.buffer, data!.byteOffset, len));
      s.pendingBytes += len;
    }
    if (end) s.pendingEnd = true;
    if (s.id !== 0) this.flushPending(s);
    if (s.pendingBytes >= STREAM_HIGH_WATER) {
      s.wantsDrain = true;
      return false;
    }
    return true;
  }

  private sendData(s: H2Stream, data: Uint8Array | undefined, end: boolean): void {
    const len = data ? data.length : 0;
    const max = this.peerMaxFrame;
    let off = 0;
    while (len - off > max) {
      this.out.header(max, F.DATA, 0, s.id);
      this.out.bytes(data!.subarray(off, off + max));
      off += max;
    }
    this.out.header(len - off, F.DATA, end ? F.FLAG_END_STREAM : 0, s.id);
    if (len > off) this.out.bytes(off === 0 ? data! : data!.subarray(off));
    s.window -= len;
    this.window -= len;
  }

  /** Sends what the windows allow of a stream's held-back data. */
  flushPending(s: H2Stream): void {
    const p = s.pending;
    while (p !== undefined && p.length > 0) {
      const allowed = Math.min(s.window, this.window);
      if (allowed <= 0) {
        if (this.window <= 0) this.blocked.add(s);
        return;
      }
      const head = p[0]!;
      if (head.length <= allowed) {
        p.shift();
        s.pendingBytes -= head.length;
        const last = p.length === 0 && s.pendingEnd;
        if (last) s.pendingEnd = false;
        this.sendData(s, head, last);
      } else {
        this.sendData(s, head.subarray(0, allowed), false);
        p[0] = head.subarray(allowed);
        s.pendingBytes -= allowed;
      }
    }
    s.pending = undefined;
    if (s.pendingEnd) {
      s.pendingEnd = false;
      this.sendData(s, undefined, true);
    }
    if (s.wantsDrain) {
      s.wantsDrain = false;
      s.handler.onDrain?.(s);
    }
  }

  /** Resets a stream from this side; its handler hears of it on the next tick. */
  reset(s: H2Stream, code: number): void {
    if (s.id !== 0 && !this.dead) this.rst(s.id, code);
    s.rstCode = code;
    this.closeStream(s, code, undefined, true);
  }

  rst(id: number, code: number): void {
    this.out.header(4, F.RST_STREAM, 0, id);
    this.out.uint32(code);
  }

  windowUpdate(id: number, increment: number): void {
    this.out.header(4, F.WINDOW_UPDATE, 0, id);
    this.out.uint32(increment);
  }

  /** Counts received DATA against the windows, giving them back when half used. */
  consumed(s: H2Stream | undefined, bytes: number, end: boolean): void {
    this.unacked += bytes;
    if (this.unacked >= CONNECTION_WINDOW / 2) {
      this.windowUpdate(0, this.unacked);
      this.unacked = 0;
    }
    if (s === undefined || end) return;
    s.unacked += bytes;
    if (s.unacked >= STREAM_WINDOW / 2) {
      this.windowUpdate(s.id, s.unacked);
      s.unacked = 0;
    }
  }

  /** The peer's END_STREAM: the call is over (this side stops too, if it had not). */
  remoteEnd(s: H2Stream): void {
    if (!s.localEnded || s.pending !== undefined || s.pendingEnd) {
      this.rst(s.id, F.NO_ERROR);
      s.pending = undefined;
    }
    this.closeStream(s, 0, undefined, false);
  }

  closeStream(s: H2Stream, code: number, error: Error | undefined, defer: boolean): void {
    if (s.closed) return;
    s.closed = true;
    s.pending = undefined;
    if (s.id !== 0) this.streams.delete(s.id);
    this.blocked.delete(s);
    if (defer) process.nextTick(notifyClose, s, code, error);
    else s.handler.onClose(s, code, error);
    if (this.dead) return;
    this.startQueued();
    if (this.streams.size === 0 && this.queueHead === this.queue.length) {
      if (this.goingAway) this.fail(new Error("the connection was closed after GOAWAY"));
      else this.socket.unref();
    }
  }

  /** The peer's SETTINGS (not an ack): applied, then acknowledged. */
  settings(payload: Buffer): void {
    for (let p = 0; p < payload.length; p += 6) {
      const id = payload.readUInt16BE(p);
      const v = payload.readUInt32BE(p + 2);
      if (id === F.SETTINGS_HEADER_TABLE_SIZE) this.encoder.setMaxSize(v);
      else if (id === F.SETTINGS_MAX_CONCURRENT_STREAMS) this.peerMaxStreams = v;
      else if (id === F.SETTINGS_INITIAL_WINDOW_SIZE) {
        if (v > F.MAX_WINDOW) throw new H2ConnectionError("SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1", F.FLOW_CONTROL_ERROR);
        const delta = v - this.peerInitialWindow;
        this.peerInitialWindow = v;
        for (const s of this.streams.values()) {
          s.window += delta;
          if (s.window > F.MAX_WINDOW) throw new H2ConnectionError("a stream window went over 2^31-1", F.FLOW_CONTROL_ERROR);
        }
        if (delta > 0) for (const s of [...this.streams.values()]) if (s.pending !== undefined) this.flushPending(s);
      } else if (id === F.SETTINGS_MAX_FRAME_SIZE) {
        if (v < F.DEFAULT_MAX_FRAME_SIZE || v > 0xffffff) throw new H2ConnectionError(`SETTINGS_MAX_FRAME_SIZE ${v} out of range`);
        this.peerMaxFrame = v;
      }
    }
    this.out.header(0, F.SETTINGS, F.FLAG_ACK, 0);
    this.ready = true;
    this.startQueued();
  }

  /** WINDOW_UPDATE for the connection (stream 0) or a stream. */
  windowIncrement(id: number, inc: number): void {
    if (id === 0) {
      if (inc === 0) throw new H2ConnectionError("WINDOW_UPDATE of 0");
      this.window += inc;
      if (this.window > F.MAX_WINDOW) throw new H2ConnectionError("the connection window went over 2^31-1", F.FLOW_CONTROL_ERROR);
      const waiting = [...this.blocked];
      this.blocked.clear();
      for (const s of waiting) if (!s.closed) this.flushPending(s);
      return;
    }
    const s = this.streams.get(id);
    if (!s) return;
    if (inc === 0 || s.window + inc > F.MAX_WINDOW) {
      this.rst(id, inc === 0 ? F.PROTOCOL_ERROR : F.FLOW_CONTROL_ERROR);
      s.rstCode = inc === 0 ? F.PROTOCOL_ERROR : F.FLOW_CONTROL_ERROR;
      return this.closeStream(s, s.rstCode, undefined, false);
    }
    s.window += inc;
    if (s.pending !== undefined) this.flushPending(s);
  }

  /** GOAWAY from the peer: streams above `lastId` were not processed (refused, so callers may retry them); new ones go elsewhere. */
  goAwayReceived(lastId: number, code: number, debug: Buffer): void {
    // A server that finds the keepalive pings too frequent says so (gRPC's too_many_pings): the
    // client's later connections ping half as often, as connect-node's session manager does.
    if (code === F.ENHANCE_YOUR_CALM && debug.toString("latin1") === "too_many_pings") this.opts.pingIntervalMs *= 2;
    this.goAway();
    for (const s of [...this.streams.values()]) {
      if (s.id > lastId) {
        s.rstCode = F.REFUSED_STREAM;
        this.closeStream(s, F.REFUSED_STREAM, undefined, false);
      }
    }
  }

  /** Takes no new streams; waiting ones go to the owner, and the socket closes once the open ones are done. */
  private goAway(): void {
    if (this.goingAway) return;
    this.goingAway = true;
    this.owner.gone(this);
    const waiting = this.takeQueue();
    if (waiting.length) this.owner.requeue(waiting);
    if (this.streams.size === 0) this.fail(new Error("the connection was closed after GOAWAY"));
  }

  private takeQueue(): H2Stream[] {
    const waiting = this.queue.slice(this.queueHead).filter((s) => !s.closed);
    this.queue = [];
    this.queueHead = 0;
    return waiting;
  }

  ping(): void {
    if (this.pingTimeout !== undefined) return;
    this.out.header(8, F.PING, 0, 0);
    this.out.uint32(0x6f6a7300);
    this.out.uint32(0);
    this.pingTimeout = setTimeout(pingTimedOut, this.opts.pingTimeoutMs, this);
    this.pingTimeout.unref();
  }

  /**
   * A PING from the peer (grpc-go: its window estimate, on nearly every sequential unary call). While the
   * open calls only wait for answers, the ack goes with the next write, not in a write of its own
   * (FrameWriter.pingAck); with data waiting for window it goes at once: its timing then grows that window.
   */
  pingReceived(payload: Buffer): void {
    let waiting = this.streams.size > 0 && this.blocked.size === 0;
    if (waiting) for (const s of this.streams.values()) if (s.pending !== undefined) waiting = false;
    this.out.pingAck(payload, waiting);
  }

  pingAcked(): void {
    if (this.pingTimeout !== undefined) clearTimeout(this.pingTimeout);
    this.pingTimeout = undefined;
    if (this.verifying) {
      this.verifying = false;
      this.startQueued();
    }
  }

  private armPing(ms: number): void {
    this.pingTimer = setTimeout(pingTick, ms, this);
    this.pingTimer.unref();
  }

  /** The keepalive timer: a PING when the peer has been silent for the interval while streams are open. */
  pingTick(): void {
    this.pingTimer = undefined;
    if (this.dead || this.streams.size === 0) return;
    const silent = Date.now() - this.lastHeard;
    const interval = this.opts.pingIntervalMs;
    if (silent >= interval) {
      this.ping();
      this.armPing(interval);
    } else this.armPing(interval - silent);
  }

  /**
   * Ends the connection: every open stream fails once with `error`; streams
   * that never left go to the owner when `requeue` (this connection's fault,
   * not theirs), else fail too. A protocol error is sent to the peer first.
   */
  fail(error: Error, requeue = false): void {
    if (this.dead) return;
    this.dead = true;
    this.goingAway = true;
    if (this.pingTimer !== undefined) clearTimeout(this.pingTimer);
    if (this.pingTimeout !== undefined) clearTimeout(this.pingTimeout);
    this.pingTimer = this.pingTimeout = undefined;
    if (error instanceof H2ConnectionError) {
      this.out.header(8, F.GOAWAY, 0, 0);
      this.out.uint32(0);
      this.out.uint32(error.code);
      this.out.flushNow();
    }
    this.out.discard();
    this.socket.destroy();
    this.owner.gone(this);
    for (const s of [...this.streams.values()]) this.closeStream(s, F.INTERNAL_ERROR, error, false);
    const waiting = this.takeQueue();
    if (requeue && waiting.length) this.owner.requeue(waiting);
    else for (const s of waiting) this.closeStream(s, F.INTERNAL_ERROR, error, false);
  }
}

function notifyClose(s: H2Stream, code: number, error: Error | undefined): void {
  s.handler.onClose(s, code, error);
}

function pingTick(c: H2Connection): void {
  c.pingTick();
}

function pingTimedOut(c: H2Connection): void {
  c.fail(new Error("the connection did not answer a keepalive PING in time"), true);
}
