/**
 * What the transport learned about the server from its manifest, asked once:
 * which of its paths each call takes.
 */
import type { GrpcWire } from "./wire.js";
import type { ManifestResponse } from "../../../gen/ojs/v1/service_pb.js";
import { ASSIGNED_ENQUEUE_EXTENSION, COMPACT_BATCH_EXTENSION, FAST_PATH_EXTENSION, FastPath } from "./fastpath.js";
import type { StandardCalls } from "./standard.js";

/** Listed by ojs-connect servers, fast path or not: their gRPC binding reads the reserved meta keys. */
export const RESERVED_META_EXTENSION = "ojs-connect.reserved-meta.v1";

export interface ServerKind {
  /**
   * An ojs-connect server: it reads the reserved meta keys (a client-chosen id,
   * a schema, a rate limit) that the standard messages have no field for.
   */
  ours: boolean;
  /** The pipelined fast path, when the server offers it and the client wants it. */
  fast: FastPath | undefined;
  /** The standard unary methods, hand-framed; used when there is no fast path (any ojs.v1 server). */
  standard: StandardCalls | undefined;
}

/**
 * `wire` is undefined when the fast path is not wanted (the client's
 * `fastPath: false`) or not possible (an in-process transport has no HTTP/2
 * session, nor the cost the fast path saves).
 */
export function serverKind(m: ManifestResponse, wire: GrpcWire | undefined, headers: Record<string, string>, standard: StandardCalls | undefined): ServerKind {
  const fastOffered = m.extensions.includes(FAST_PATH_EXTENSION);
  // Older ojs-connect servers list only the fast path, and read the reserved keys too.
  const ours = fastOffered || m.extensions.includes(RESERVED_META_EXTENSION);
  const fast =
    fastOffered && wire
      ? new FastPath(wire, headers, m.extensions.includes(COMPACT_BATCH_EXTENSION), m.extensions.includes(ASSIGNED_ENQUEUE_EXTENSION))
      : undefined;
  return { ours, fast, standard };
}
