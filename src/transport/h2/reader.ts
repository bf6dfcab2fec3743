/**
 * The receiving half of a client connection: splits the socket's bytes into
 * frames (RFC 9113 section 4) and hands each to the connection. Payloads are
 * views of the socket's chunks, joined only when a frame spans chunks. A
 * violation of the protocol ends the connection (H2ConnectionError).
 */
import * as F from "./frames.js";
import { H2ConnectionError } from "./frames.js";
import { HpackError, type HpackDecoder } from "./hpack.js";
import type { H2Stream } from "./stream.js";

/**
 * What the reader hands frames to: the connection (connection.ts), named
 * here so that the reader does not import the module that imports it.
 */
export interface FrameTarget {
  readonly dead: boolean;
  readonly out: F.FrameWriter;
  readonly decoder: HpackDecoder;
  readonly streams: ReadonlyMap<number, H2Stream>;
  fail(error: Error): void;
  closeStream(s: H2Stream, code: number, error: Error | undefined, defer: boolean): void;
  settings(payload: Buffer): void;
  pingAcked(): void;
  pingReceived(payload: Buffer): void;
  goAwayReceived(lastId: number, code: number, debug: Buffer): void;
  windowIncrement(id: number, inc: number): void;
  consumed(s: H2Stream | undefined, bytes: number, end: boolean): void;
  rst(id: number, code: number): void;
  remoteEnd(s: H2Stream): void;
}

/** The largest frame taken (this side announces no SETTINGS_MAX_FRAME_SIZE, so the default). */
const MAX_FRAME = F.DEFAULT_MAX_FRAME_SIZE;
/** The most a header block may take across CONTINUATION frames before it is refused. */
const MAX_HEADER_BLOCK = 1 << 20;

export class FrameReader {
  /** The start of a frame that has not all arrived. */
  private rest: Buffer | undefined;
  /** A header block waiting for its CONTINUATION frames. */
  private block: { id: number; end: boolean; parts: Buffer[]; size: number } | undefined;
  private sawSettings = false;

  constructor(private readonly conn: FrameTarget) {}

  push(chunk: Buffer): void {
    const conn = this.conn;
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let p = 0;
    try {
      while (buf.length - p >= 9) {
        const len = (buf[p]! << 16) | (buf[p + 1]! << 8) | buf[p + 2]!;
        if (len > MAX_FRAME) throw new H2ConnectionError(`a frame of ${len} bytes, over the maximum of ${MAX_FRAME}`, F.FRAME_SIZE_ERROR);
        if (buf.length - p - 9 < len) break;
        const type = buf[p + 3]!;
        const flags = buf[p + 4]!;
        const id = buf.readUInt32BE(p + 5) & 0x7fffffff;
        const payload = buf.subarray(p + 9, p + 9 + len);
        p += 9 + len;
        this.frame(type, flags, id, payload);
        if (conn.dead) return;
      }
    } catch (e) {
      if (e instanceof H2ConnectionError) return conn.fail(e);
      if (e instanceof HpackError) return conn.fail(new H2ConnectionError(e.message, F.COMPRESSION_ERROR));
      // A handler's own failure must not leave the connection half-read: give it up.
      return conn.fail(e instanceof Error ? e : new Error(String(e)));
    }
    if (p < buf.length) this.rest = buf.subarray(p);
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    const conn = this.conn;
    if (this.block !== undefined && (type !== F.CONTINUATION || id !== this.block.id))
      throw new H2ConnectionError("a frame other than CONTINUATION inside a header block");
    if (!this.sawSettings) {
      if (type !== F.SETTINGS || flags & F.FLAG_ACK) throw new H2ConnectionError("the server's preface is not a SETTINGS frame");
      this.sawSettings = true;
    }
    switch (type) {
      case F.DATA:
        return this.data(flags, id, payload);
      case F.HEADERS:
        return this.headers(flags, id, payload);
      case F.CONTINUATION: {
        const b = this.block;
        if (b === undefined) throw new H2ConnectionError("CONTINUATION without a header block");
        b.parts.push(payload);
        b.size += payload.length;
        if (b.size > MAX_HEADER_BLOCK) throw new H2ConnectionError(`a header block over ${MAX_HEADER_BLOCK} bytes`, F.INTERNAL_ERROR);
        if (flags & F.FLAG_END_HEADERS) {
          this.block = undefined;
          this.headerBlock(b.id, b.end, Buffer.concat(b.parts, b.size));
        }
        return;
      }
      case F.RST_STREAM: {
        if (id === 0) throw new H2ConnectionError("RST_STREAM on stream 0");
        if (payload.length !== 4) throw new H2ConnectionError("RST_STREAM of the wrong size", F.FRAME_SIZE_ERROR);
        const s = conn.streams.get(id);
        if (s === undefined) return;
        s.rstCode = payload.readUInt32BE(0);
        return conn.closeStream(s, s.rstCode, undefined, false);
      }
      case F.SETTINGS:
        if (id !== 0) throw new H2ConnectionError("SETTINGS on a stream");
        if (flags & F.FLAG_ACK) {
          if (payload.length !== 0) throw new H2ConnectionError("SETTINGS ack with a payload", F.FRAME_SIZE_ERROR);
          return;
        }
        if (payload.length % 6 !== 0) throw new H2ConnectionError("SETTINGS of the wrong size", F.FRAME_SIZE_ERROR);
        return conn.settings(payload);
      case F.PUSH_PROMISE:
        throw new H2ConnectionError("PUSH_PROMISE, though this client disabled push");
      case F.PING:
        if (id !== 0) throw new H2ConnectionError("PING on a stream");
        if (payload.length !== 8) throw new H2ConnectionError("PING of the wrong size", F.FRAME_SIZE_ERROR);
        if (flags & F.FLAG_ACK) return conn.pingAcked();
        return conn.pingReceived(payload);
      case F.GOAWAY:
        if (id !== 0) throw new H2ConnectionError("GOAWAY on a stream");
        if (payload.length < 8) throw new H2ConnectionError("GOAWAY too short", F.FRAME_SIZE_ERROR);
        return conn.goAwayReceived(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4), payload.subarray(8));
      case F.WINDOW_UPDATE:
        if (payload.length !== 4) throw new H2ConnectionError("WINDOW_UPDATE of the wrong size", F.FRAME_SIZE_ERROR);
        return conn.windowIncrement(id, payload.readUInt32BE(0) & 0x7fffffff);
      default:
        // PRIORITY and unknown types: nothing to do (RFC 9113 sections 5.3.2 and 5.5).
        return;
    }
  }

  /** Strips padding (and the priority fields of HEADERS): the frame's content. */
  private unpad(flags: number, payload: Buffer, priority: boolean): Buffer {
    let start = 0;
    let pad = 0;
    if (flags & F.FLAG_PADDED) {
      if (payload.length < 1) throw new H2ConnectionError("a padded frame without its pad length", F.FRAME_SIZE_ERROR);
      pad = payload[0]!;
      start = 1;
    }
    if (priority) start += 5;
    if (start + pad > payload.length) throw new H2ConnectionError("padding longer than the frame");
    return start === 0 && pad === 0 ? payload : payload.subarray(start, payload.length - pad);
  }

  private data(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ConnectionError("DATA on stream 0");
    const conn = this.conn;
    const s = conn.streams.get(id);
    const end = (flags & F.FLAG_END_STREAM) !== 0;
    // Padding counts against flow control too.
    conn.consumed(s, payload.length, end);
    if (s === undefined) return;
    const data = this.unpad(flags, payload, false);
    if (!s.gotHeaders) {
      conn.rst(id, F.PROTOCOL_ERROR);
      s.rstCode = F.PROTOCOL_ERROR;
      return conn.closeStream(s, F.PROTOCOL_ERROR, undefined, false);
    }
    if (data.length > 0) s.handler.onData(s, data);
    if (end && !s.closed) conn.remoteEnd(s);
  }

  private headers(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ConnectionError("HEADERS on stream 0");
    const content = this.unpad(flags, payload, (flags & F.FLAG_PRIORITY) !== 0);
    const end = (flags & F.FLAG_END_STREAM) !== 0;
    if (flags & F.FLAG_END_HEADERS) return this.headerBlock(id, end, content);
    this.block = { id, end, parts: [content], size: content.length };
  }

  private headerBlock(id: number, end: boolean, block: Buffer): void {
    const list: string[] = [];
    // Decoded even for a stream that is gone: the table must follow every block the peer encoded.
    this.conn.decoder.decode(block, list);
    const s = this.conn.streams.get(id);
    if (s === undefined) return;
    // An informational (1xx) answer is not the response.
    if (!s.gotHeaders && list[0] === ":status" && list[1]!.charCodeAt(0) === 49 /* 1 */ && !end) return;
    s.gotHeaders = true;
    s.handler.onHeaders(s, list, end);
    if (end && !s.closed) this.conn.remoteEnd(s);
  }
}
