/**
 * Answers of a bare node:http2 server for the hand-framed gRPC call tests
 * (test/unit/unary-call.test.ts for node:http2, h2-unary-call.test.ts for the
 * own client): each path answers with exactly the bytes its case needs, the
 * server's writes spaced by their drain callbacks and a wait so that the
 * client sees separate chunks. One table, so both clients meet the same bytes.
 */
import { Code } from "@connectrpc/connect";
import type { ServerHttp2Stream } from "node:http2";
import { frameMessage } from "../../src/transport/grpc/raw.js";

export type Answer = (s: ServerHttp2Stream) => Promise<void>;

export const msg = (n: number, fill = 1) => Buffer.alloc(n, fill);
const pause = () => new Promise((r) => setTimeout(r, 30));
const write = (s: ServerHttp2Stream, b: Buffer) => new Promise<void>((r) => s.write(b, () => r()));

/** 200, gRPC content, then `body` (chunks written one by one, a pause between), then `status` in trailers. */
export function answer(body: Buffer[], status = "0", message?: string): Answer {
  return async (s) => {
    s.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
    s.once("wantTrailers", () => s.sendTrailers({ "grpc-status": status, ...(message ? { "grpc-message": message } : {}) }));
    for (const chunk of body) {
      await write(s, chunk);
      await pause();
    }
    s.end();
  };
}

/** One message in one chunk, cut across chunks, two (in one chunk or two), a large one, none, an error after one, cut short. */
export const UNARY_ANSWERS: Record<string, Answer> = {
  "/t/one": answer([frameMessage(msg(200, 7))]),
  "/t/split": (() => {
    const f = frameMessage(msg(3000, 9));
    return answer([f.subarray(0, 3), f.subarray(3, 1000), f.subarray(1000)]);
  })(),
  "/t/two-in-one": answer([Buffer.concat([frameMessage(msg(10)), frameMessage(msg(10))])]),
  "/t/two-apart": answer([frameMessage(msg(10)), frameMessage(msg(10))]),
  "/t/big": answer([frameMessage(msg(2048))]),
  "/t/none": answer([]),
  "/t/error-after-message": answer([frameMessage(msg(10))], String(Code.FailedPrecondition), "not now"),
  "/t/cut-short": answer([frameMessage(msg(100)).subarray(0, 50)]),
};
