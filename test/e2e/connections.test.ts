/**
 * Connections that cannot pile up (issue 10, item 3), over real sockets:
 * silent sockets are closed after the header timeout, idle ones after the idle
 * timeout (HTTP/1.1 and HTTP/2), and past the connection cap requests are
 * answered 503 / RESOURCE_EXHAUSTED with Retry-After instead of failing.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { grpcTransport } from "../../src/transport/index.js";
import { eventually, TRANSPORTS } from "../helpers.js";
import { serverCore } from "../../src/server/internal.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function server(opts: Parameters<typeof startServer>[0]): Promise<OjsServer> {
  const s = await startServer({ port: 0, ...opts });
  cleanup.push(() => s.close());
  return s;
}

/** Opens `n` TCP connections that never send a byte; resolves once all are connected (or refused). */
async function silentSockets(url: string, n: number): Promise<{ sockets: Socket[]; closed: () => number }> {
  const { hostname, port } = new URL(url);
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = connect(Number(port), hostname);
          s.on("error", () => undefined);
          s.once("close", () => closed++);
          s.once("connect", () => resolve(s));
          s.once("close", () => resolve(s));
        }),
    ),
  );
  cleanup.push(() => sockets.forEach((s) => s.destroy()));
  return { sockets, closed: () => closed };
}

const counter = (s: OjsServer, name: string) => serverCore(s).counters.get(name) ?? 0;

describe("silent sockets", () => {
  it("300 sockets that send nothing are all closed after the header timeout; the cap drops a flood first; real requests still work", async () => {
    const s = await server({ headersTimeoutMs: 300, maxConnections: 100 });
    const { closed } = await silentSockets(s.url, 300);
    // Before: never closed, until some 20 000 of them exhausted the file descriptors.
    await eventually(() => closed() === 300, 5000);
    expect(counter(s, "connections.header_timeout")).toBeGreaterThan(0);
    expect(counter(s, "connections.header_timeout") + counter(s, "connections.dropped")).toBe(300);
    for (const transport of TRANSPORTS) {
      const c = new Client({ url: s.url, transport });
      expect((await c.health()).status).toBe("ok");
      await c.close();
    }
  });
});

describe("an idle connection", () => {
  it("over HTTP/1.1: a keep-alive socket is closed after the idle timeout", async () => {
    const s = await server({ idleTimeoutMs: 200 });
    const { hostname, port } = new URL(s.url);
    const sock = connect(Number(port), hostname);
    cleanup.push(() => sock.destroy());
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    let answer = "";
    sock.on("data", (d: Buffer) => (answer += d.toString()));
    sock.write(`GET /ojs/v1/health HTTP/1.1\r\nhost: ${hostname}\r\nconnection: keep-alive\r\n\r\n`);
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(counter(s, "connections.idle_timeout")).toBe(1);
  });

  it("over HTTP/1.1: a second request whose headers come too slowly (slowloris) is answered 408 and closed", async () => {
    const s = await server({ headersTimeoutMs: 300 });
    const { hostname, port } = new URL(s.url);
    const sock = connect(Number(port), hostname);
    cleanup.push(() => sock.destroy());
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    let answer = "";
    sock.on("data", (d: Buffer) => (answer += d.toString()));
    sock.write(`GET /ojs/v1/health HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
    await eventually(() => answer.includes("\r\n\r\n"), 2000);
    // Then one header line every 100 ms, never the end of the headers: bytes keep coming.
    sock.write(`GET /ojs/v1/health HTTP/1.1\r\n`);
    let lines = 0;
    const drip = setInterval(() => !sock.destroyed && sock.write(`x-drip-${lines++}: 1\r\n`), 100);
    cleanup.push(() => clearInterval(drip));
    await closed;
    expect(answer).toMatch(/HTTP\/1\.1 408/);
    expect(lines).toBeLessThan(30);
  });

  it("over HTTP/2: the session gets GOAWAY after the idle timeout, and the gRPC client's next call opens a new one", async () => {
    const s = await server({ idleTimeoutMs: 200 });
    const c = new Client({ url: s.url, transport: "grpc" });
    cleanup.push(() => c.close());
    await c.health();
    await eventually(() => counter(s, "connections.idle_timeout") >= 1, 3000);
    expect((await c.health()).status).toBe("ok");
  });
});

describe("the connection cap", () => {
  it("is answered 503 with Retry-After over HTTP and RESOURCE_EXHAUSTED with retry-after over gRPC, then lets clients in again", async () => {
    const s = await server({ maxConnections: 3, headersTimeoutMs: 10_000 });
    const { sockets } = await silentSockets(s.url, 3);

    const res = await fetch(`${s.url}/ojs/v1/health`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toMatchObject({ error: { code: "unavailable", retryable: true } });

    const t = grpcTransport({ url: s.url });
    cleanup.push(() => t.close());
    const err = await t.health().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ grpcCode: 8, retryAfterMs: 1000, retryable: true });
    expect(counter(s, "connections.busy_answered")).toBeGreaterThanOrEqual(2);

    for (const sock of sockets) sock.destroy();
    await eventually(async () => (await fetch(`${s.url}/ojs/v1/health`)).status === 200, 3000);
    await eventually(async () => (await t.health()).status === "ok", 3000);
  });

  it("HTTP/2 advertises its cap on concurrent streams per connection", async () => {
    const s = await server({ maxStreamsPerConnection: 7 });
    const { connect: h2connect } = await import("node:http2");
    const session = h2connect(s.url);
    cleanup.push(() => session.destroy());
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((r) => session.once("remoteSettings", r));
    expect(settings.maxConcurrentStreams).toBe(7);
    session.destroy();
    // A client with more calls at once than that waits for free streams instead of failing, even
    // on a new connection where the burst goes out before the server's SETTINGS arrive (the
    // refused streams are sent again: the server never processed them).
    const c = new Client({ url: s.url, transport: "grpc" });
    cleanup.push(() => c.close());
    const answers = await Promise.all(Array.from({ length: 100 }, () => c.health()));
    expect(answers.every((a) => a.status === "ok")).toBe(true);
  });
});
