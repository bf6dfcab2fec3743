/**
 * The own HTTP/2 client's flow control as a standard EnqueueBatch meets it
 * (~110 KB request, ~220 KB answer) against a node:http2 server with its
 * default 64 KiB windows: the request leaves in as many writes as the
 * server's WINDOW_UPDATE flights allow (the whole window each time, not a
 * frame per turn), and the answer never waits for a WINDOW_UPDATE of ours (the
 * 8 MiB stream window covers it). These are the round trips that decide the
 * call's latency on a busy machine (docs/performance.md, fourth pass).
 */
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it, vi } from "vitest";
import { H2Client } from "../../src/transport/h2/client.js";
import { DATA, FrameWriter, WINDOW_UPDATE } from "../../src/transport/h2/frames.js";
import type { H2Stream, StreamHandler } from "../../src/transport/h2/stream.js";

const servers: Http2Server[] = [];
const clients: H2Client[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server with node:http2's default settings answering every request with `answerBytes` bytes, once the request is in. */
async function serve(answerBytes: number): Promise<{ client: H2Client; received: () => number }> {
  let received = 0;
  const server = createServer();
  server.on("stream", (s: ServerHttp2Stream) => {
    s.on("data", (c: Buffer) => (received += c.length));
    s.on("end", () => {
      s.respond({ ":status": 200 });
      s.end(Buffer.alloc(answerBytes, 7));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  const client = new H2Client(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 });
  clients.push(client);
  return { client, received: () => received };
}

class Collect implements StreamHandler {
  bytes = 0;
  done: Promise<number>;
  private resolve!: (code: number) => void;
  constructor() {
    this.done = new Promise((r) => (this.resolve = r));
  }
  onHeaders(): void {}
  onData(_s: H2Stream, d: Buffer): void {
    this.bytes += d.length;
  }
  onClose(_s: H2Stream, code: number): void {
    this.resolve(code);
  }
}

/** What the client's writer sends: writes carrying DATA, and WINDOW_UPDATE frames for streams. */
function spyOnWriter(): { dataWrites: () => number; streamWindowUpdates: () => number } {
  let dataInTurn = false;
  let dataWrites = 0;
  let streamWindowUpdates = 0;
  const header = FrameWriter.prototype.header;
  vi.spyOn(FrameWriter.prototype, "header").mockImplementation(function (this: FrameWriter, length, type, flags, stream) {
    if (type === DATA) dataInTurn = true;
    if (type === WINDOW_UPDATE && stream !== 0) streamWindowUpdates++;
    header.call(this, length, type, flags, stream);
  });
  const flushNow = FrameWriter.prototype.flushNow;
  vi.spyOn(FrameWriter.prototype, "flushNow").mockImplementation(function (this: FrameWriter) {
    if (dataInTurn) dataWrites++;
    dataInTurn = false;
    flushNow.call(this);
  });
  return { dataWrites: () => dataWrites, streamWindowUpdates: () => streamWindowUpdates };
}

const bounded = <T>(p: Promise<T>, ms = 10_000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

it("a 200 KB request leaves in one write per WINDOW_UPDATE flight of the server, each filling the window", async () => {
  const { client, received } = await serve(10);
  // The connection first (SETTINGS both ways), so only the request's own writes are counted.
  const warm = new Collect();
  client.request("/warm", {}, warm).write(Buffer.alloc(1), true);
  expect(await bounded(warm.done)).toBe(0);
  const spy = spyOnWriter();
  const size = 200_000;
  const c = new Collect();
  client.request("/big", {}, c).write(Buffer.alloc(size, 1), true);
  expect(await bounded(c.done)).toBe(0);
  expect(received()).toBe(size + 1);
  // nghttp2 gives window back in steps of at least half its 64 KiB: (200 000 - 65 535) / 32 768 -> at most 5 more
  // flights after the first. A client sending a frame (16 KiB) per turn or per WINDOW_UPDATE frame needs 13 or more.
  expect(spy.dataWrites()).toBeGreaterThanOrEqual(2);
  expect(spy.dataWrites()).toBeLessThanOrEqual(6);
});

it("a 1 MB answer arrives without a WINDOW_UPDATE for its stream: the server never waits for this side's window", async () => {
  const { client } = await serve(1_000_000);
  const spy = spyOnWriter();
  const c = new Collect();
  client.request("/answer", {}, c).write(Buffer.alloc(100, 1), true);
  expect(await bounded(c.done)).toBe(0);
  expect(c.bytes).toBe(1_000_000);
  expect(spy.streamWindowUpdates()).toBe(0);
});
