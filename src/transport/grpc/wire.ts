/**
 * The seam between the hand-framed gRPC calls and the HTTP/2 underneath: the
 * transport's own client (src/transport/h2, the default) or node:http2
 * through connect-node's Http2SessionManager (`http2Client: "node"`). The
 * calls above it do not know which.
 */
import type { Http2SessionManager } from "@connectrpc/connect-node";
import type { CallOptions } from "@connectrpc/connect";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ManifestRequestSchema, ManifestResponseSchema, type ManifestResponse } from "../../../gen/ojs/v1/service_pb.js";
import type { H2Client } from "../h2/client.js";
import { h2OpenRawStream } from "./h2-raw.js";
import { h2UnaryCall } from "./h2-unary.js";
import { openRawStream, type RawHandlers, type RawStream } from "./raw.js";
import { unaryCall, type UnaryOptions } from "./unary.js";

export interface GrpcWire {
  /** One unary call: the response message, or a ConnectError. */
  unary(path: string, request: Uint8Array, o: UnaryOptions): Promise<Uint8Array>;
  /** One streaming call, callback style (see openRawStream). */
  open(path: string, headers: Record<string, string>, handlers: RawHandlers): Promise<RawStream>;
  /** Closes the connection(s): calls in flight fail. */
  close(): void;
}

/** The transport's own HTTP/2 client. */
export class H2Wire implements GrpcWire {
  constructor(readonly client: H2Client) {}
  unary(path: string, request: Uint8Array, o: UnaryOptions): Promise<Uint8Array> {
    return h2UnaryCall(this.client, path, request, o);
  }
  open(path: string, headers: Record<string, string>, handlers: RawHandlers): Promise<RawStream> {
    return h2OpenRawStream(this.client, path, headers, handlers);
  }
  close(): void {
    this.client.close();
  }
}

/** node:http2, through connect-node's session manager. */
export class NodeWire implements GrpcWire {
  constructor(readonly session: Http2SessionManager) {}
  unary(path: string, request: Uint8Array, o: UnaryOptions): Promise<Uint8Array> {
    return unaryCall(this.session, path, request, o);
  }
  open(path: string, headers: Record<string, string>, handlers: RawHandlers): Promise<RawStream> {
    return openRawStream(this.session, path, headers, handlers);
  }
  close(): void {
    this.session.abort();
  }
}

/**
 * Manifest as connect-es's client method, hand-framed on `wire` (the request
 * has no fields): the answer is the same message, errors the same ConnectErrors.
 */
export function framedManifest(wire: GrpcWire): (request: unknown, o?: CallOptions) => Promise<ManifestResponse> {
  const request = toBinary(ManifestRequestSchema, create(ManifestRequestSchema, {}));
  return (_request, o) => {
    const headers: Record<string, string> = {};
    if (o?.headers) new Headers(o.headers).forEach((v, k) => (headers[k] = v));
    return wire
      .unary("/ojs.v1.OJSService/Manifest", request, { headers, timeoutMs: o?.timeoutMs ?? 0, signal: o?.signal })
      .then((bytes) => fromBinary(ManifestResponseSchema, bytes));
  };
}
