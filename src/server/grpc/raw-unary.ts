/**
 * The standard ojs.v1 unary methods that producers and workers call in a loop
 * (Enqueue, Fetch, Ack, Nack, Heartbeat; GetJob not yet, see below), served at the level of
 * frames in front of connect-node, as ./raw.ts serves the streams: the
 * hand-written codec instead of message objects, no per-call machinery. Same
 * methods, messages, statuses, headers and durability as the connect routes
 * of ./service.ts, through the same domain calls (./calls.ts); any gRPC client
 * sees no difference, it only gets its answer sooner. This is what a client
 * without our fast path (an official SDK, or ours against a server with the
 * fast path off) uses for every job.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { FetchRequestSchema, HeartbeatRequestSchema, HeartbeatResponseSchema } from "../../../gen/ojs/v1/worker_pb.js";
import { VISIBILITY_HEADER } from "../../codec/proto.js";
import {
  decodeAckRequest,
  decodeEnqueueRequest,
  decodeNackRequest,
  encodeAckResponse,
  encodeFetchResponse,
  encodeJobResponse,
  encodeNackResponse,
} from "../../codec/wire/index.js";
import { OjsError } from "../../model/errors.js";
import type { ServerCore } from "../core.js";
import { ackJob, enqueueJob, heartbeatCall, nackJob } from "./calls.js";
import { toConnectError } from "./errors.js";
import { RawCall, tenant } from "./raw.js";
import { GRPC_OK_HEADERS } from "./call-parts.js";
import { pushLeaving } from "./push-order.js";

interface UnaryMethod {
  name: string;
  /** Its answer may make a job available to a streaming worker: it leaves after the pushes of its turn (./push-order.ts). */
  afterPushes?: boolean;
  /** The call's answer, from its request message; rejects on bytes that are not that message. */
  handle(bytes: Uint8Array, call: RawCall, core: ServerCore): Promise<Uint8Array>;
}

/** Bytes that are not the method's message: the caller's mistake (INVALID_ARGUMENT), as ./status-fixes.ts makes connect say it. */
class UndecodableRequest extends OjsError {}

function decoded<T>(method: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    throw new UndecodableRequest(`cannot decode ${method}Request: ${e instanceof Error ? e.message : String(e)}`, { code: "invalid_request" });
  }
}

const METHODS: Record<string, UnaryMethod> = {
  "/ojs.v1.OJSService/Enqueue": {
    name: "Enqueue",
    afterPushes: true,
    handle: async (bytes, call, core) =>
      encodeJobResponse(
        await enqueueJob(
          core,
          decoded("Enqueue", () => decodeEnqueueRequest(bytes, core.store.clock.now())),
          tenant(call),
        ),
      ),
  },
  // GetJob stays with connect-node for now. It was kept out when conformance case L0-LC-005 over gRPC
  // read a just-nacked job as "available" instead of "retryable"; that was the case's timing (its retry
  // falls due 0.5-1.5 s after the nack, and beside 64 other cases on two busy cores its steps came
  // seconds apart), now run apart (conformance/lib/policy.ts TIGHT_TIMING), not this path.
  "/ojs.v1.OJSService/Fetch": {
    name: "Fetch",
    async handle(bytes, call, core) {
      const req = decoded("Fetch", () => fromBinary(FetchRequestSchema, bytes));
      const v = Number(call.header(VISIBILITY_HEADER));
      const recs = await core.jobs.fetch({
        queues: req.queues.length ? req.queues : ["default"],
        count: req.count || 1,
        workerId: req.workerId || undefined,
        visibilityTimeoutMs: Number.isFinite(v) && v > 0 ? v : undefined,
        ...(tenant(call) !== undefined ? { tenant: tenant(call)! } : {}),
      });
      return encodeFetchResponse(recs.map((r) => r.job));
    },
  },
  "/ojs.v1.OJSService/Ack": {
    name: "Ack",
    async handle(bytes, call, core) {
      const req = decoded("Ack", () => decodeAckRequest(bytes));
      await ackJob(core, req.jobId, req.result, undefined, tenant(call));
      return encodeAckResponse({ acknowledged: true });
    },
  },
  "/ojs.v1.OJSService/Nack": {
    name: "Nack",
    async handle(bytes, call, core) {
      const req = decoded("Nack", () => decodeNackRequest(bytes));
      return encodeNackResponse(await nackJob(core, req.jobId, req.error, undefined, tenant(call)));
    },
  },
  "/ojs.v1.OJSService/Heartbeat": { name: "Heartbeat", handle: heartbeat },
};

async function heartbeat(bytes: Uint8Array, _call: RawCall, core: ServerCore): Promise<Uint8Array> {
  return toBinary(
    HeartbeatResponseSchema,
    await heartbeatCall(
      core,
      decoded("Heartbeat", () => fromBinary(HeartbeatRequestSchema, bytes)),
    ),
  );
}

/** Returns a request handler that takes the standard unary methods above and reports whether it did. */
export function rawUnaryHandler(core: ServerCore): (req: Http2ServerRequest, res: Http2ServerResponse) => boolean {
  // As the connect routes: every answer says which server gave it. The same for every call, so made once.
  const headers = { ...GRPC_OK_HEADERS, "x-ojs-server-version": core.manifest().implementation.version, "x-ojs-conformance-level": "4" };
  return (req) => {
    const method = METHODS[req.url];
    if (!method || req.httpVersionMajor !== 2) return false;
    const ct = req.headers["content-type"];
    if (ct !== "application/grpc" && ct !== "application/grpc+proto") return false;
    const enc = req.headers["grpc-encoding"];
    if (enc !== undefined && enc !== "identity") return false;
    const call = new RawCall(req, core.limits.maxMessageBytes);
    call.responseHeaders = headers;
    serve(method, call, core);
    return true;
  };
}

function serve(method: UnaryMethod, call: RawCall, core: ServerCore): void {
  call.readOne((bytes) => {
    // The store's writes resolve once durable (store/job-store.ts), so the answer needs no barrier of its own.
    let reply: Promise<Uint8Array>;
    try {
      reply = method.handle(bytes, call, core);
    } catch (e) {
      return failed(method, call, core, e);
    }
    reply.then(
      (bytes) => (method.afterPushes && pushLeaving() ? setImmediate(answer, call, core, bytes) : answer(call, core, bytes)),
      (e: unknown) => failed(method, call, core, e),
    );
  });
}

function answer(call: RawCall, core: ServerCore, reply: Uint8Array): void {
  core.count("grpc_ok");
  call.endWith(reply);
}

function failed(method: UnaryMethod, call: RawCall, core: ServerCore, e: unknown): void {
  core.count("grpc_error");
  const code = toConnectError(e, call.requestId).code;
  if (code === Code.Internal || code === Code.Unknown || code === Code.DataLoss) core.fault(e, `gRPC ${method.name} (request ${call.requestId})`);
  call.fail(e);
}
