/**
 * Raw probes for access tests: one HTTP/1.1 request or one gRPC call over a
 * plain HTTP/2 session, reporting only what the door answered (status, error
 * code, headers), never waiting on a stream the server keeps open.
 */
import { request as httpRequest } from "node:http";
import { connect, type ClientHttp2Session } from "node:http2";

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

export function httpCall(url: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname: u.hostname, port: u.port, method, path, headers: opts.headers ?? {}, agent: false }, (res) => {
      // A stream (SSE) the door let through: its headers are the answer.
      if (String(res.headers["content-type"] ?? "").startsWith("text/event-stream")) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: {} });
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: HttpAnswer["body"] = {};
        try {
          body = text ? (JSON.parse(text) as HttpAnswer["body"]) : {};
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on("error", reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

export interface GrpcAnswer {
  /** The grpc-status; "open" when the call was admitted and is still streaming; -1 for a stream that ended without one. */
  status: number | "open";
  message: string;
}

/** An HTTP/2 session for gRPC probes; close it when done. */
export function h2Session(url: string): ClientHttp2Session {
  const s = connect(url);
  s.on("error", () => {});
  return s;
}

/**
 * Sends one gRPC message (a length-prefixed frame of `message`) and half-closes.
 * A refusal arrives at once as a trailers-only answer; a call still open after
 * `openAfterMs` was admitted.
 */
export function grpcCall(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string>,
  message: Uint8Array = Uint8Array.of(0x0f), // field 1 with wire type 7: no valid message
  openAfterMs = 1500,
): Promise<GrpcAnswer> {
  return new Promise((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    let done = false;
    const finish = (a: GrpcAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.close();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ status: "open", message: "" }), openAfterMs);
    const onStatus = (h: Record<string, unknown>) => {
      if (h["grpc-status"] === undefined) return;
      finish({ status: Number(h["grpc-status"]), message: decodeURIComponent(String(h["grpc-message"] ?? "")) });
    };
    stream.on("response", onStatus);
    stream.on("trailers", onStatus);
    stream.on("data", () => {});
    stream.on("error", (e) => finish({ status: -1, message: String(e) }));
    stream.on("close", () => finish({ status: -1, message: "closed without a status" }));
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    stream.end(frame);
  });
}
