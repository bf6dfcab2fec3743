/**
 * Corrections to what connect-node answers a gRPC call that went wrong before
 * our handler ran, so that both ways in (connect-node's routes and the raw
 * handlers of raw.ts) answer the same mistake the same way:
 *
 * - a request message it cannot decode, or one flagged compressed without a
 *   grpc-encoding, comes back INTERNAL (as grpc-go and grpc-java do). To an OJS client INTERNAL means a retryable server fault,
 *   so it would resend the same broken bytes; the caller's mistake is
 *   INVALID_ARGUMENT.
 * - a message over readMaxBytes comes back RESOURCE_EXHAUSTED, which clients
 *   read as "slow down and retry"; resending it can never work, so it is
 *   INVALID_ARGUMENT with the payload_too_large reason, naming maxMessageBytes.
 * - after the status, a client still sending (the rest of a message over the
 *   limit) is told to stop with RST_STREAM(NO_ERROR), as gRPC servers do,
 *   instead of the call hanging half open until the client gives up.
 */
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Http2ServerRequest } from "node:http2";
import type { ServerResponse } from "node:http";
import { limitError } from "../../model/limits.js";
import { resetUnreadStream } from "../http/h2-reset.js";
import type { NodeRequest, NodeResponse } from "../http/router.js";
import { toConnectError } from "./errors.js";

const PARSE_ERROR = /^parse(%20| )(binary|json)|^received compressed envelope/;
const READ_MAX = /readMaxBytes/;

export function correctGrpcStatus(req: NodeRequest, res: NodeResponse, maxMessageBytes: number): void {
  const r = res as ServerResponse;
  const addTrailers = r.addTrailers.bind(r);
  r.addTrailers = (headers) => {
    const h = headers as Record<string, string | string[] | number | undefined>;
    const status = String(h["grpc-status"]);
    const message = decodeMessage(h["grpc-message"]);
    if (status === "13" && PARSE_ERROR.test(message)) h["grpc-status"] = "3";
    else if (status === "8" && READ_MAX.test(message)) {
      const size = /message size (\d+)/.exec(message)?.[1];
      const err = limitError("maxMessageBytes", maxMessageBytes, "request message", size === undefined ? undefined : Number(size));
      setTrailerStatus(new Headers(), toConnectError(err)).forEach((v, k) => (h[k] = v));
    }
    addTrailers(headers);
  };
  if (req.httpVersionMajor === 2) {
    // After the response's own listener has sent the trailers: then the reset cannot overtake them.
    const stream = (req as Http2ServerRequest).stream;
    resetUnreadStream(stream, "wantTrailers", () => req.readableEnded);
  }
}

function decodeMessage(v: unknown): string {
  const s = String(v ?? "");
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
