/**
 * One HTTP/2 stream of the client, callback style: what arrives goes to its
 * handler (one object, typically the call itself), what is written goes out
 * in the connection's next write or waits for flow-control window. No
 * EventEmitter, no Readable/Writable, nothing allocated per event.
 */
/**
 * What a stream writes through: its connection (connection.ts), named here so
 * that this module does not import the module that imports it.
 */
export interface StreamOwner {
  write(s: H2Stream, data: Uint8Array | undefined, end: boolean): boolean;
  reset(s: H2Stream, code: number): void;
}

export interface StreamHandler {
  /** Response headers, then trailers: name, value, name, value... (names lower-case). `end`: the peer closed its side. */
  onHeaders(stream: H2Stream, headers: string[], end: boolean): void;
  /** A DATA payload (a view of the socket's bytes; keep it, it is not reused). */
  onData(stream: H2Stream, data: Buffer): void;
  /**
   * The stream is over, once: `code` 0 and no `error` after the peer's END_STREAM;
   * otherwise the RST_STREAM code (received, or sent by cancel()), or the connection's failure.
   */
  onClose(stream: H2Stream, code: number, error: Error | undefined): void;
  /** Everything written has left (after write() returned false). */
  onDrain?(stream: H2Stream): void;
}

/** Bytes a stream may hold back (for window) before write() asks the writer to wait. */
export const STREAM_HIGH_WATER = 64 * 1024;

export class H2Stream {
  /** 0 until the HEADERS leave. */
  id = 0;
  /** This side's END_STREAM is written (or queued behind data). */
  localEnded = false;
  closed = false;
  /** The RST_STREAM code, when the stream was reset (either side). */
  rstCode: number | undefined;
  /** Send window (the peer's), once the stream is open. */
  window = 0;
  /** Received bytes not yet given back with WINDOW_UPDATE. */
  unacked = 0;
  /** Data waiting for window (or for the stream to open), oldest first, and whether END_STREAM follows it. */
  pending: Buffer[] | undefined;
  pendingBytes = 0;
  pendingEnd = false;
  /** write() returned false: onDrain is owed. */
  wantsDrain = false;
  /** Response headers arrived (later header blocks are trailers). */
  gotHeaders = false;

  constructor(
    public conn: StreamOwner,
    readonly path: string,
    readonly headers: Record<string, string>,
    readonly handler: StreamHandler,
    /** Free for the handler's use (the call a shared handler serves). */
    public context?: unknown,
  ) {}

  /** Sends `data` (and END_STREAM when `end`); false when the writer should wait for onDrain. */
  write(data: Uint8Array, end = false): boolean {
    if (this.closed || this.localEnded) return false;
    return this.conn.write(this, data, end);
  }

  /** Half-closes this side. */
  end(): void {
    if (this.closed || this.localEnded) return;
    this.conn.write(this, undefined, true);
  }

  /** Resets the stream (RST_STREAM `code`, CANCEL by default); onClose follows on the next tick. */
  cancel(code = 0x8): void {
    if (this.closed) return;
    this.conn.reset(this, code);
  }
}
