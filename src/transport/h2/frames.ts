/**
 * HTTP/2 frame types, flags, error codes and settings (RFC 9113 sections 6,
 * 7 and 6.5.2), and the writer that packs frames for the socket: every frame
 * written in one turn of the event loop leaves in one socket write.
 */
import type { Socket } from "node:net";

export const DATA = 0x0;
export const HEADERS = 0x1;
export const PRIORITY = 0x2;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PUSH_PROMISE = 0x5;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const WINDOW_UPDATE = 0x8;
export const CONTINUATION = 0x9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export const NO_ERROR = 0x0;
export const PROTOCOL_ERROR = 0x1;
export const INTERNAL_ERROR = 0x2;
export const FLOW_CONTROL_ERROR = 0x3;
export const STREAM_CLOSED = 0x5;
export const FRAME_SIZE_ERROR = 0x6;
export const REFUSED_STREAM = 0x7;
export const CANCEL = 0x8;
export const COMPRESSION_ERROR = 0x9;
export const ENHANCE_YOUR_CALM = 0xb;

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fffffff;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** An error that ends a connection, with the HTTP/2 code it is sent with (GOAWAY). */
export class H2ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: number = PROTOCOL_ERROR,
  ) {
    super(message);
  }
}

/** The longest a held-back PING ack waits for a write to travel with (FrameWriter.pingAck). */
export const PING_ACK_DELAY_MS = 10;

/** Payloads at least this large are passed to the socket as they are, not copied. */
const COPY_LIMIT = 1024;
/** Pending output above which a write is copied out at once rather than into the shared buffer. */
const SCRATCH = 16 * 1024;

/**
 * Frames in order until the flush: small ones copied into one buffer, large
 * payloads kept by reference. The flush runs from setImmediate, after the
 * turn's I/O callbacks and the calls they started, so a batch of answers read
 * in one go is followed by one write carrying all the requests it caused.
 */
export class FrameWriter {
  private buf = Buffer.allocUnsafe(SCRATCH);
  private p = 0;
  /** Earlier segments, when a large payload went by reference. */
  private chunks: Buffer[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private socket: Socket | undefined;
  /** A PING ack is buffered and has not asked for a flush (pingAck with `later`). */
  private ackOwed = false;
  private ackTimer: NodeJS.Timeout | undefined;

  /** Output waits until attach(): the connection may write its preface before the socket is up. */
  attach(socket: Socket): void {
    this.socket = socket;
    if (this.p > 0 || this.chunks.length) this.schedule();
  }

  header(length: number, type: number, flags: number, stream: number): void {
    this.frameHeader(length, type, flags, stream);
    this.schedule();
  }

  /**
   * A PING's ack. With `later` it asks for no flush of its own: it leaves with
   * the next write something else asks for, when the connection calls
   * flushSoon() (after the peer's next frames), or after PING_ACK_DELAY_MS,
   * whichever is first.
   */
  pingAck(payload: Buffer, later: boolean): void {
    this.frameHeader(8, PING, FLAG_ACK, 0);
    this.bytes(payload, true);
    if (!later) return this.schedule();
    this.ackOwed = true;
    if (this.ackTimer === undefined) {
      this.ackTimer = setTimeout(ackDue, PING_ACK_DELAY_MS, this);
      this.ackTimer.unref();
    }
  }

  /** Whether a held-back PING ack is still here, forgetting it (the caller flushes). */
  takeOwedAck(): boolean {
    const owed = this.ackOwed;
    this.ackOwed = false;
    return owed;
  }

  /** The held-back ack's time is up: it leaves if nothing took it yet. */
  ackDue(): void {
    this.ackTimer = undefined;
    if (this.takeOwedAck()) this.flushSoon();
  }

  /** Asks for a flush of what is buffered (from setImmediate, as every write does). */
  flushSoon(): void {
    if (this.p > 0 || this.chunks.length) this.schedule();
  }

  private frameHeader(length: number, type: number, flags: number, stream: number): void {
    this.room(9);
    const b = this.buf;
    let p = this.p;
    b[p++] = length >>> 16;
    b[p++] = (length >>> 8) & 0xff;
    b[p++] = length & 0xff;
    b[p++] = type;
    b[p++] = flags;
    b.writeUInt32BE(stream, p);
    this.p = p + 4;
  }

  /** A payload; `copy` when the caller reuses its buffer (kept by reference otherwise when large). */
  bytes(data: Uint8Array, copy = false): void {
    if (!copy && data.length >= COPY_LIMIT) {
      this.cut();
      this.chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
      return;
    }
    this.room(data.length);
    this.buf.set(data, this.p);
    this.p += data.length;
  }

  uint32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.p);
    this.p += 4;
  }

  uint16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.p);
    this.p += 2;
  }

  /** Drops what is not written yet and stops (the connection is gone). */
  discard(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.scheduled = this.ackTimer = undefined;
    this.chunks = [];
    this.p = 0;
    this.socket = undefined;
  }

  private schedule(): void {
    if (this.scheduled === undefined && this.socket) this.scheduled = setImmediate(flush, this);
  }

  /** Moves the buffered bytes into a segment of their own. */
  private cut(): void {
    if (this.p === 0) return;
    // Small output is copied to a pooled buffer, and the scratch buffer kept; a large one is handed over.
    if (this.p <= 4096) this.chunks.push(Buffer.from(this.buf.subarray(0, this.p)));
    else {
      this.chunks.push(this.buf.subarray(0, this.p));
      this.buf = Buffer.allocUnsafe(SCRATCH);
    }
    this.p = 0;
  }

  private room(n: number): void {
    if (this.p + n <= this.buf.length) return;
    this.cut();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  /** Writes everything pending now. */
  flushNow(): void {
    this.scheduled = undefined;
    this.ackOwed = false;
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    this.cut();
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    this.chunks = [];
    if (chunks.length === 1) socket.write(chunks[0]!);
    else {
      socket.cork();
      for (const c of chunks) socket.write(c);
      socket.uncork();
    }
  }
}

function flush(w: FrameWriter): void {
  w.flushNow();
}

function ackDue(w: FrameWriter): void {
  w.ackDue();
}
