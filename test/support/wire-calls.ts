/**
 * Requests as raw as the fuzz tests and the limit tests need them: an HTTP/1.1
 * request with any method, path and body bytes, and a gRPC call over HTTP/2
 * with any frames, each answered with the status and nothing else assumed.
 * Every call has a deadline, so a hung server fails the test instead of it.
 */
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { request } from "node:http";
import type { DescMessage } from "@bufbuild/protobuf";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";
import { FastPathService } from "../../gen/ojsconnect/v1/fastpath_pb.js";

export interface HttpAnswer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export function httpCall(
  base: string,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const r = request({ hostname: u.hostname, port: u.port, path, method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", reject);
    });
    r.on("timeout", () => r.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    r.on("error", reject);
    r.end(body);
  });
}

export interface GrpcAnswer {
  /** grpc-status as sent, or undefined when the call ended without one. */
  status: string | undefined;
  message: string | undefined;
  /** The HTTP/2 error of a stream that was reset instead of answered. */
  rstCode: number | undefined;
  /** Response message bytes (frames included). */
  bytes: number;
}

/** One gRPC frame: the 5-byte header, then the message. */
export function frame(message: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flags;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A session for many calls; close it when done. */
export function grpcSession(base: string): ClientHttp2Session {
  // Above Node's 10 MB default, which would refuse large test messages on this side.
  const s = connect(base, { maxSessionMemory: 64 });
  s.on("error", () => undefined);
  return s;
}

/**
 * A gRPC call with the given body bytes (frames, or anything else), over a
 * session. Half-closes after the body, and cancels after `timeoutMs` (for
 * server-streaming methods, which never end on their own: their answer is
 * whatever arrived by then).
 */
export function grpcCall(
  session: ClientHttp2Session,
  path: string,
  body: Buffer,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<GrpcAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    const out: GrpcAnswer = { status: undefined, message: undefined, rstCode: undefined, bytes: 0 };
    const read = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) out.status = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) out.message = decodeURIComponent(String(h["grpc-message"]));
    };
    const timer = setTimeout(() => req.close(constants.NGHTTP2_CANCEL), timeoutMs);
    req.on("response", read);
    req.on("trailers", read);
    req.on("data", (c: Buffer) => (out.bytes += c.length));
    req.on("close", () => {
      clearTimeout(timer);
      if (req.rstCode !== undefined && req.rstCode !== constants.NGHTTP2_NO_ERROR) out.rstCode = req.rstCode;
      resolve(out);
    });
    req.on("error", () => undefined);
    if (session.destroyed) return reject(new Error("session closed"));
    req.end(body);
  });
}

export interface GrpcMethodInfo {
  path: string;
  /** The request message's schema, for building valid messages. */
  input: DescMessage;
  kind: string;
}

/** Every method of every service this server serves, from the generated descriptors. */
export function grpcMethods(): GrpcMethodInfo[] {
  return [OJSService, FastPathService].flatMap((svc) => svc.methods.map((m) => ({ path: `/${svc.typeName}/${m.name}`, input: m.input, kind: m.methodKind })));
}

/** Ends a session and waits for it to be gone. */
export function closeSession(s: ClientHttp2Session): Promise<void> {
  return new Promise((r) => {
    if (s.destroyed) return r();
    s.close(() => r());
    setTimeout(() => {
      s.destroy();
      r();
    }, 1000).unref();
  });
}
