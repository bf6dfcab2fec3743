import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a server, to break connections for real: cut() drops
 * every open connection (both ways) as a network fault would; new connections
 * are accepted again at once unless paused.
 */
export class Proxy {
  private server: Server;
  private pairs = new Set<[Socket, Socket]>();
  private refusing = false;
  /** Connections refused while refuse(true) held (a fault test shows its fault happened). */
  refused = 0;
  private readonly frozen = new Set<Socket>();
  /** Upstream sockets whose bytes to the client are held back (holdReplies). */
  private readonly heldReplies = new Set<Socket>();
  private holdingReplies = false;
  url = "";

  private constructor(private readonly target: URL) {
    this.server = createServer((client) => {
      if (this.refusing) {
        this.refused++;
        client.destroy();
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      // Without this, Nagle's algorithm and delayed ACKs add ~40 ms to small frames.
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.pipe(upstream);
      if (this.holdingReplies) this.holdReplyOf(upstream);
      else upstream.pipe(client);
      const close = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
  }

  static async start(targetUrl: string): Promise<Proxy> {
    const p = new Proxy(new URL(targetUrl));
    await new Promise<void>((r) => p.server.listen(0, "127.0.0.1", r));
    p.url = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}`;
    return p;
  }

  get connections(): number {
    return this.pairs.size;
  }

  /** Breaks every open connection now; returns how many it broke (a fault test shows its fault happened). */
  cut(): number {
    const n = this.pairs.size;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    this.frozen.clear();
    this.heldReplies.clear();
    return n;
  }

  /**
   * Freezes every open connection: the sockets stay open but no byte passes
   * either way (a half-open link, or a peer whose process is stopped). New
   * connections are not affected. Returns how many connections were frozen.
   */
  freeze(): number {
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
      this.frozen.add(a);
    }
    return this.frozen.size;
  }

  /**
   * Holds back every byte from the server to the client, on open connections and
   * on those opened until thaw(), while the client's bytes still reach the server:
   * what the server writes meanwhile is sent but not received (in flight).
   * Returns how many connections it holds.
   */
  holdReplies(): number {
    this.holdingReplies = true;
    for (const [a, b] of this.pairs) {
      if (this.frozen.has(a) || this.heldReplies.has(b)) continue;
      b.unpipe(a);
      this.holdReplyOf(b);
    }
    return this.heldReplies.size;
  }

  private holdReplyOf(upstream: Socket): void {
    upstream.pause();
    this.heldReplies.add(upstream);
  }

  /** Lets the frozen and held connections forward again; what they held back flows on. */
  thaw(): void {
    this.holdingReplies = false;
    for (const [a, b] of this.pairs) {
      if (this.frozen.has(a)) {
        a.pipe(b);
        b.pipe(a);
      } else if (this.heldReplies.has(b)) b.pipe(a);
    }
    this.frozen.clear();
    this.heldReplies.clear();
  }

  /** Refuse (true) or accept (false) new connections. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
