/**
 * The HTTP/2 client of the gRPC transport's hand-framed calls: one connection
 * at a time, opened at the first request, replaced when it goes away (GOAWAY,
 * a failure, stream ids used up). Streams that never left a connection that
 * went away are opened on the next one; streams that had left fail with it.
 */
import { H2Connection, type ConnectionOwner, type H2ConnectionOptions } from "./connection.js";
import { INTERNAL_ERROR } from "./frames.js";
import { H2Stream, type StreamHandler } from "./stream.js";

export type H2ClientOptions = H2ConnectionOptions;

export class H2Client implements ConnectionOwner {
  private current: H2Connection | undefined;
  /** Every connection not closed yet (one taking new streams, others finishing theirs). */
  private readonly live = new Set<H2Connection>();
  private closed = false;
  /** Connections opened so far (for tests and diagnostics). */
  connections = 0;

  constructor(
    private readonly url: URL,
    private readonly opts: H2ClientOptions,
  ) {}

  /** A new stream for POST `path`; its handler hears of everything that follows. */
  request(path: string, headers: Record<string, string>, handler: StreamHandler, context?: unknown): H2Stream {
    if (this.closed) {
      const s = new H2Stream(undefined as unknown as H2Connection, path, headers, handler, context);
      s.closed = true;
      process.nextTick(closedClient, s);
      return s;
    }
    return this.connection().request(path, headers, handler, context);
  }

  private connection(): H2Connection {
    let c = this.current;
    if (c === undefined || c.goingAway) {
      c = this.current = new H2Connection(this.url, this.opts, this);
      this.live.add(c);
      this.connections++;
    }
    return c;
  }

  requeue(streams: H2Stream[]): void {
    if (this.closed) {
      for (const s of streams) {
        s.closed = true;
        process.nextTick(closedClient, s);
      }
      return;
    }
    for (const s of streams) this.connection().adopt(s);
  }

  gone(conn: H2Connection): void {
    if (this.current === conn) this.current = undefined;
    if (conn.dead) this.live.delete(conn);
  }

  /** Closes every connection now: open streams fail (UNAVAILABLE), no socket or timer is left. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.live]) c.fail(new Error("the transport was closed"));
    this.live.clear();
    this.current = undefined;
  }
}

function closedClient(s: H2Stream): void {
  s.handler.onClose(s, INTERNAL_ERROR, new Error("the transport was closed"));
}
