/**
 * The hand-framed unary call (src/transport/grpc/unary.ts) against a bare
 * node:http2 server that answers with exactly the bytes each case needs: one
 * message in one chunk (read without a parser), a message cut across chunks,
 * two messages (in one chunk or two), a message over the limit, an error status
 * after a message. Real sockets; the server's writes are spaced by their own
 * drain callbacks and a wait, so the client sees separate chunks.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unaryCall } from "../../src/transport/grpc/unary.js";
import { msg, UNARY_ANSWERS } from "../support/grpc-answers.js";

/** Counts keepalive notices: the session manager pings a connection it has not heard from. */
class CountingManager extends Http2SessionManager {
  notices = 0;
  override notifyResponseByteRead(...args: Parameters<Http2SessionManager["notifyResponseByteRead"]>): void {
    this.notices++;
    super.notifyResponseByteRead(...args);
  }
}

describe("unaryCall reads exactly one response message", () => {
  let server: Http2Server;
  let session: CountingManager;

  beforeAll(async () => {
    server = createServer();
    server.on("stream", (s, headers) => {
      s.resume();
      s.on("error", () => undefined);
      void UNARY_ANSWERS[String(headers[":path"])]!(s).catch(() => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    session = new CountingManager(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    session.abort();
    await new Promise((r) => server.close(r));
  });

  const call = (path: string, maxMessageBytes?: number) =>
    unaryCall(session, path, new Uint8Array([1, 2, 3]), { headers: {}, timeoutMs: 10_000, ...(maxMessageBytes ? { maxMessageBytes } : {}) });

  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(e).toBeInstanceOf(ConnectError);
    return e as ConnectError;
  };

  it("one message in one chunk: its bytes, with no keepalive notice (the response headers are one)", async () => {
    const before = session.notices;
    const got = await call("/t/one");
    expect(Buffer.from(got).equals(msg(200, 7))).toBe(true);
    expect(session.notices - before).toBe(0);
  });

  it("a message cut across chunks: joined whole, and the chunks after the first tell the keepalive", async () => {
    const before = session.notices;
    const got = await call("/t/split");
    expect(Buffer.from(got).equals(msg(3000, 9))).toBe(true);
    expect(session.notices - before).toBeGreaterThan(0);
  });

  it("two messages in one chunk: a protocol error, not the first of them", async () => {
    const e = await failure(call("/t/two-in-one"));
    expect(e.code).toBe(Code.Unimplemented);
    expect(e.message).toMatch(/extra output message/);
  });

  it("two messages in two chunks: a protocol error", async () => {
    const e = await failure(call("/t/two-apart"));
    expect(e.code).toBe(Code.Unimplemented);
    expect(e.message).toMatch(/extra output message/);
  });

  it("a message over maxMessageBytes, even whole in one chunk: RESOURCE_EXHAUSTED", async () => {
    const e = await failure(call("/t/big", 1024));
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(Buffer.from(await call("/t/big", 4096)).length).toBe(2048);
  });

  it("no message: a protocol error; a message cut short: INTERNAL", async () => {
    expect((await failure(call("/t/none"))).code).toBe(Code.Unimplemented);
    expect((await failure(call("/t/cut-short"))).code).toBe(Code.Internal);
  });

  it("an error status after a message: the status, not the message", async () => {
    const e = await failure(call("/t/error-after-message"));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.rawMessage).toBe("not now");
  });
});
