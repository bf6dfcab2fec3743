import { GrpcTransport, type GrpcTransportOptions } from "./grpc/transport.js";
import { HttpTransport, type HttpTransportOptions } from "./http/transport.js";
import type { TransportOptions } from "./options.js";
import type { Transport } from "./transport.js";

export type TransportKind = "grpc" | "http";

export function createTransport(kind: TransportKind, opts: TransportOptions): Transport {
  return kind === "http" ? new HttpTransport(opts) : new GrpcTransport(opts);
}

export { GrpcTransport, HttpTransport };
export type { GrpcTransportOptions, HttpTransportOptions, Transport, TransportOptions };
export { grpcTransport } from "./grpc/transport.js";
export { httpTransport } from "./http/transport.js";
