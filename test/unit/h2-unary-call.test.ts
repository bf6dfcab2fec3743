/**
 * The hand-framed gRPC calls on the own HTTP/2 client (src/transport/grpc/h2-unary.ts
 * and h2-raw.ts) against a bare node:http2 server answering each case with
 * exactly the bytes it needs, as test/unit/unary-call.test.ts does for the
 * node:http2 versions: the same answers must give the same results.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H2Client } from "../../src/transport/h2/client.js";
import { frameMessage } from "../../src/transport/grpc/raw.js";
import { H2Wire } from "../../src/transport/grpc/wire.js";
import { answer, msg, UNARY_ANSWERS, type Answer } from "../support/grpc-answers.js";

const ANSWERS: Record<string, Answer> = {
  ...UNARY_ANSWERS,
  "/t/three": answer([frameMessage(msg(5, 1)), Buffer.concat([frameMessage(msg(6, 2)), frameMessage(msg(7, 3))])]),
  // Trailers-only: the status in the response headers, nothing else.
  "/t/refused": async (s) => {
    s.respond(
      { ":status": 200, "content-type": "application/grpc+proto", "grpc-status": String(Code.PermissionDenied), "grpc-message": "no" },
      { endStream: true },
    );
  },
  "/t/not-grpc": async (s) => {
    s.respond({ ":status": 404, "content-type": "text/plain" });
    s.end("nope");
  },
  "/t/silent": async () => undefined,
};

describe("the hand-framed calls on the own HTTP/2 client", () => {
  let server: Http2Server;
  let wire: H2Wire;
  const seen: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    server = createServer();
    server.on("stream", (s, headers) => {
      seen.push({ ...headers });
      s.resume();
      s.on("error", () => undefined);
      void ANSWERS[String(headers[":path"])]!(s).catch(() => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    wire = new H2Wire(new H2Client(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 }));
  });

  afterAll(async () => {
    wire.close();
    await new Promise((r) => server.close(r));
  });

  const call = (path: string, o: { maxMessageBytes?: number; timeoutMs?: number; signal?: AbortSignal } = {}) =>
    wire.unary(path, new Uint8Array([1, 2, 3]), { headers: { "x-k": "v" }, timeoutMs: o.timeoutMs ?? 10_000, ...o });

  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(e).toBeInstanceOf(ConnectError);
    return e as ConnectError;
  };

  it("one message in one chunk, and one cut across chunks: their bytes; the request carries the gRPC headers", async () => {
    expect(Buffer.from(await call("/t/one")).equals(msg(200, 7))).toBe(true);
    expect(Buffer.from(await call("/t/split")).equals(msg(3000, 9))).toBe(true);
    expect(seen.at(-1)).toMatchObject({ ":method": "POST", "content-type": "application/grpc+proto", te: "trailers", "grpc-timeout": "10000m", "x-k": "v" });
  });

  it("two messages, in one chunk or two: a protocol error", async () => {
    expect((await failure(call("/t/two-in-one"))).message).toMatch(/extra output message/);
    expect((await failure(call("/t/two-apart"))).code).toBe(Code.Unimplemented);
  });

  it("a message over maxMessageBytes: RESOURCE_EXHAUSTED; no message: a protocol error; cut short: INTERNAL", async () => {
    expect((await failure(call("/t/big", { maxMessageBytes: 1024 }))).code).toBe(Code.ResourceExhausted);
    expect(Buffer.from(await call("/t/big", { maxMessageBytes: 4096 })).length).toBe(2048);
    expect((await failure(call("/t/none"))).code).toBe(Code.Unimplemented);
    expect((await failure(call("/t/cut-short"))).code).toBe(Code.Internal);
  });

  it("an error status after a message, a trailers-only refusal, a non-gRPC answer: connect's reading of each", async () => {
    const e = await failure(call("/t/error-after-message"));
    expect([e.code, e.rawMessage]).toEqual([Code.FailedPrecondition, "not now"]);
    const r = await failure(call("/t/refused"));
    expect([r.code, r.rawMessage]).toEqual([Code.PermissionDenied, "no"]);
    expect((await failure(call("/t/not-grpc"))).code).toBe(Code.Unimplemented);
  });

  it("the deadline and the abort signal end a call the server never answers", async () => {
    const t0 = Date.now();
    expect((await failure(call("/t/silent", { timeoutMs: 100 }))).code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    expect((await failure(call("/t/silent", { signal: ac.signal }))).code).toBe(Code.Canceled);
  });

  it("a raw stream delivers each message as it is parsed, then the status; a trailers-only refusal ends it", async () => {
    const got: number[] = [];
    const end = await new Promise<unknown>((resolve) => {
      void wire.open("/t/three", {}, { message: (m) => got.push(m.length), end: resolve }).then((s) => {
        s.send(new Uint8Array(1));
        s.end();
      });
    });
    expect(end).toBeUndefined();
    expect(got).toEqual([5, 6, 7]);
    const refused = await new Promise<unknown>((resolve) => void wire.open("/t/refused", {}, { message: () => undefined, end: resolve }));
    expect(refused).toMatchObject({ code: Code.PermissionDenied });
  });
});
