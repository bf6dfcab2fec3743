/**
 * The own HTTP/2 client (src/transport/h2) against node:http2 servers made
 * here, an independent implementation (nghttp2): headers and trailers both
 * ways (nghttp2 Huffman-codes and indexes what it sends), CONTINUATION,
 * flow control through small windows, MAX_CONCURRENT_STREAMS, RST_STREAM,
 * GOAWAY, a server that drops the connection, TLS, and close(). Real
 * sockets on loopback; every wait is bounded.
 */
import fc from "fast-check";
import {
  createSecureServer,
  createServer,
  constants,
  type Http2Server,
  type Http2SecureServer,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { H2Client } from "../../src/transport/h2/client.js";
import type { H2Stream, StreamHandler } from "../../src/transport/h2/stream.js";
import { hasOpenssl, makePki } from "../support/tls-proxy.js";

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL("../fixtures", import.meta.url));

interface Answer {
  headers: string[];
  trailers: string[] | undefined;
  body: Buffer;
  code: number;
  error: Error | undefined;
}

/** Collects a stream's answer; resolves when it closes. */
class Collect implements StreamHandler {
  headers: string[] = [];
  trailers: string[] | undefined;
  chunks: Buffer[] = [];
  done!: Promise<Answer>;
  private resolve!: (a: Answer) => void;
  constructor() {
    this.done = new Promise((r) => (this.resolve = r));
  }
  onHeaders(_s: H2Stream, h: string[]): void {
    if (this.headers.length === 0) this.headers = h;
    else this.trailers = h;
  }
  onData(_s: H2Stream, d: Buffer): void {
    this.chunks.push(Buffer.from(d));
  }
  onClose(_s: H2Stream, code: number, error: Error | undefined): void {
    this.resolve({ headers: this.headers, trailers: this.trailers, body: Buffer.concat(this.chunks), code, error });
  }
}

function call(client: H2Client, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const c = new Collect();
  const s = client.request(path, headers, c);
  s.write(body, true);
  return c.done;
}

const get = (h: string[] | undefined, name: string) => {
  if (!h) return undefined;
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
};

const bounded = <T>(p: Promise<T>, ms = 10_000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

const servers: Array<Http2Server | Http2SecureServer> = [];
const clients: H2Client[] = [];
const serverSessions: ServerHttp2Session[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  // node:http2 keeps a session it sent GOAWAY on open while a refused stream of it is unanswered, socket gone or not.
  for (const s of serverSessions.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(onStream: (s: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>) => void, settings: Settings = {}) {
  const server = createServer({ settings });
  server.on("stream", (s, h) => {
    // Resets and GOAWAYs are what these tests are about: the server's streams see them as errors.
    s.on("error", () => undefined);
    onStream(s, h as Record<string, string | string[] | undefined>);
  });
  const sessions: ServerHttp2Session[] = [];
  server.on("session", (s) => {
    sessions.push(s);
    serverSessions.push(s);
  });
  const sockets: Socket[] = [];
  server.on("connection", (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const client = new H2Client(url, { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 });
  clients.push(client);
  return { server, client, sessions, sockets };
}

/** Echo: the request's x- headers come back as response headers and as trailers, with the body. */
function echo(s: ServerHttp2Stream, h: Record<string, string | string[] | undefined>): void {
  const mine: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith("x-") && typeof v === "string") mine[k] = v;
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  s.on("end", () => {
    s.respond({ ":status": 200, ...mine }, { waitForTrailers: true });
    s.once("wantTrailers", () => s.sendTrailers({ "grpc-status": "0", ...mine }));
    s.end(Buffer.concat(chunks));
  });
}

describe("H2Client against node:http2", () => {
  it("reads headers and trailers nghttp2 encodes (Huffman-coded, then indexed) and sends its own through its table", async () => {
    const { client } = await serve(echo);
    // Values as HTTP allows them: no white space at either end (node:http2 would trim it), not empty.
    const value = fc
      .string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-_.~ /:=+ABCXYZ".split("")), minLength: 1, maxLength: 60 })
      .filter((v) => v.trim() === v);
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom("x-a", "x-b", "x-c", "x-long-name", "x-d"), value), async (headers) => {
        const a = await bounded(call(client, "/echo", Buffer.from("hi"), headers));
        expect(a.error).toBeUndefined();
        expect(get(a.headers, ":status")).toBe("200");
        for (const [k, v] of Object.entries(headers)) {
          expect(get(a.headers, k)).toBe(v);
          expect(get(a.trailers, k)).toBe(v);
        }
        expect(a.body.toString()).toBe("hi");
      }),
      { numRuns: 150 },
    );
    expect(client.connections).toBe(1);
  });

  it("headers larger than a frame go in CONTINUATION frames, both ways", async () => {
    const { client } = await serve(echo, { maxHeaderListSize: 1 << 20 });
    const big = "v".repeat(40_000);
    const a = await bounded(call(client, "/echo", Buffer.alloc(0), { "x-big": big, "x-small": "s" }));
    expect(get(a.headers, "x-big")).toBe(big);
    expect(get(a.trailers, "x-big")).toBe(big);
    expect(get(a.trailers, "x-small")).toBe("s");
  });

  it("16 MiB each way through small server windows (16 KiB per stream)", async () => {
    const { client } = await serve(echo, { initialWindowSize: 16_384 });
    const body = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    const [a, b] = await bounded(Promise.all([call(client, "/echo", body), call(client, "/echo", body.subarray(0, 1_000_000))]), 30_000);
    expect(a.body.equals(body)).toBe(true);
    expect(b.body.equals(body.subarray(0, 1_000_000))).toBe(true);
  }, 60_000);

  it("MAX_CONCURRENT_STREAMS of 1: 50 calls wait their turn, first come first served", async () => {
    let open = 0;
    let most = 0;
    const order: string[] = [];
    const { client } = await serve(
      (s, h) => {
        open++;
        most = Math.max(most, open);
        order.push(String(h["x-i"]));
        s.on("close", () => open--);
        echo(s, h);
      },
      { maxConcurrentStreams: 1 },
    );
    const answers = await bounded(Promise.all(Array.from({ length: 50 }, (_, i) => call(client, "/echo", Buffer.from(String(i)), { "x-i": String(i) }))));
    expect(answers.map((a) => a.code)).toEqual(Array(50).fill(0));
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(most).toBe(1);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it("RST_STREAM from the server mid-call ends that call with its code; the connection goes on", async () => {
    const { client } = await serve((s, h) => {
      if (h[":path"] === "/reset") {
        // Trailers owed: node:http2 cannot end the stream before them, so close() resets it.
        s.respond({ ":status": 200 }, { waitForTrailers: true });
        s.write("part");
        setTimeout(() => s.close(constants.NGHTTP2_INTERNAL_ERROR), 20);
        return;
      }
      echo(s, h);
    });
    const a = await bounded(call(client, "/reset", Buffer.from("x")));
    expect(a.code).toBe(constants.NGHTTP2_INTERNAL_ERROR);
    expect(a.error).toBeUndefined();
    const b = await bounded(call(client, "/echo", Buffer.from("after")));
    expect(b.body.toString()).toBe("after");
    expect(client.connections).toBe(1);
  });

  it("GOAWAY with calls in flight: those above its last stream id are refused, the rest answered, a new call opens a new connection", async () => {
    const held: ServerHttp2Stream[] = [];
    const { client, sessions } = await serve((s, h) => {
      if (h[":path"] === "/hold") {
        held.push(s);
        s.resume();
        if (held.length === 3) {
          // Streams 1 and 3 are kept, 5 is refused.
          sessions[0]!.goaway(constants.NGHTTP2_NO_ERROR, 3);
          for (const x of held.slice(0, 2)) {
            x.respond({ ":status": 200 });
            x.end("kept");
          }
        }
        return;
      }
      echo(s, h);
    });
    const calls = [call(client, "/hold", Buffer.from("1")), call(client, "/hold", Buffer.from("2")), call(client, "/hold", Buffer.from("3"))];
    const [a, b, c] = (await bounded(Promise.all(calls))) as [Answer, Answer, Answer];
    expect(a.body.toString()).toBe("kept");
    expect(b.body.toString()).toBe("kept");
    expect(c.code).toBe(constants.NGHTTP2_REFUSED_STREAM);
    const d = await bounded(call(client, "/echo", Buffer.from("new")));
    expect(d.body.toString()).toBe("new");
    expect(client.connections).toBe(2);
    expect(sessions).toHaveLength(2);
  });

  it("GOAWAY too_many_pings doubles the keepalive interval of later connections", async () => {
    const { server, sessions } = await serve(echo);
    const opts = { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 };
    const client = new H2Client(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), opts);
    clients.push(client);
    await bounded(call(client, "/echo", Buffer.alloc(0)));
    sessions[0]!.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too_many_pings"));
    for (let i = 0; i < 100 && opts.pingIntervalMs === 5_000; i++) await new Promise((r) => setTimeout(r, 20));
    expect(opts.pingIntervalMs).toBe(10_000);
    expect((await bounded(call(client, "/echo", Buffer.from("on")))).body.toString()).toBe("on");
    expect(client.connections).toBe(2);
  });

  it("the server's socket destroyed mid-call: every call fails with the connection's error, nothing hangs, the next call reconnects", async () => {
    let n = 0;
    const { client, sockets } = await serve((s, h) => {
      if (h[":path"] === "/drop") {
        s.resume();
        if (++n === 10) setTimeout(() => sockets[0]!.destroy(), 10);
        return;
      }
      echo(s, h);
    });
    const answers = await bounded(Promise.all(Array.from({ length: 10 }, () => call(client, "/drop", Buffer.from("x")))));
    for (const a of answers) expect(a.error?.message).toMatch(/closed|ECONNRESET|EPIPE/);
    const b = await bounded(call(client, "/echo", Buffer.from("again")));
    expect(b.body.toString()).toBe("again");
    expect(client.connections).toBe(2);
  });

  it("a PING from the server is answered", async () => {
    const { client, sessions } = await serve(echo);
    await bounded(call(client, "/echo", Buffer.alloc(0)));
    const rtt = await bounded(new Promise<number>((r, j) => sessions[0]!.ping((e, ms) => (e ? j(e) : r(ms)))));
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it("a server that goes silent with a call open is pinged, and given up when the PING is not answered", async () => {
    // A peer that sends its SETTINGS and then never another byte (nghttp2 would answer pings by itself).
    const mute = createTcpServer((sock) => {
      sock.write(Buffer.from("000000040000000000", "hex"));
      sock.on("data", () => undefined);
      sock.on("error", () => undefined);
    });
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    try {
      const client = new H2Client(new URL(`http://127.0.0.1:${(mute.address() as AddressInfo).port}`), { pingIntervalMs: 50, pingTimeoutMs: 100 });
      clients.push(client);
      const t0 = Date.now();
      const a = await bounded(call(client, "/x", Buffer.alloc(0)), 5_000);
      expect(a.error?.message).toMatch(/PING/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      mute.close();
    }
  });

  it("TLS with a self-signed CA: the call succeeds when the CA is given, fails without it", async (ctx) => {
    if (!hasOpenssl) return ctx.skip();
    const pki = makePki();
    const server = createSecureServer({ key: pki.serverKey, cert: pki.serverCert });
    server.on("stream", (s, h) => echo(s, h as Record<string, string>));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    const url = new URL(`https://localhost:${(server.address() as AddressInfo).port}`);
    const good = new H2Client(url, { pingIntervalMs: 5_000, pingTimeoutMs: 5_000, tls: { ca: pki.ca } });
    const bad = new H2Client(url, { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 });
    clients.push(good, bad);
    const a = await bounded(call(good, "/echo", Buffer.from("secret"), { "x-t": "1" }));
    expect(a.body.toString()).toBe("secret");
    expect(get(a.trailers, "x-t")).toBe("1");
    const b = await bounded(call(bad, "/echo", Buffer.from("x")));
    expect(b.error?.message).toMatch(/certificate/i);
  });

  it("close() fails open calls, and leaves no socket or timer keeping the process alive", async () => {
    let got = false;
    const { client } = await serve((s) => {
      got = true;
      s.resume();
    });
    client.close();
    const a = await bounded(call(client, "/never", Buffer.alloc(0)));
    expect(a.error?.message).toMatch(/closed/);
    // In a process of its own: a call in flight (with keepalive pings), then close(), then nothing.
    const port = (servers[0]!.address() as AddressInfo).port;
    const { stdout } = await run(process.execPath, ["--import", "tsx", join(fixtures, "h2-close.ts"), `http://127.0.0.1:${port}`], { timeout: 45_000 });
    expect(stdout.trim()).toMatch(/^closed \d+ the transport was closed$/);
    expect(got).toBe(true);
  }, 60_000);
});
