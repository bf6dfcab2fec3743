/**
 * The hot gRPC methods served at the level of frames and bytes, in front of
 * connect-node: StreamJobs (every job a worker receives), the fast path's
 * EnqueueStream and SettleStream, and EnqueueBatch. Same methods, same wire
 * format, same semantics as the connect routes; only the message codec is our
 * hand-written one (src/codec/wire) and no per-call machinery runs. Requests
 * this handler does not take (other methods, HTTP/1.1, gRPC-Web, Connect,
 * compressed messages) go to connect-node as before.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { constants, type Http2ServerRequest, type Http2ServerResponse, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { StreamJobsRequestSchema } from "../../../gen/ojs/v1/worker_pb.js";
import { VISIBILITY_HEADER } from "../../codec/proto.js";
import {
  BATCH_ANSWER_HEADER,
  ENQUEUE_ANSWER_HEADER,
  decodeEnqueueBatchRequest,
  decodeEnqueueStreamRequest,
  decodeSettleStreamRequest,
  encodeEnqueueBatchAnswer,
  encodeEnqueueBatchResponse,
  encodeEnqueueStreamResponse,
  encodeJob,
  encodeSettleStreamResponse,
  type EnqueueOutcome,
  type SettleOutcome,
  type WireCallError,
} from "../../codec/wire/index.js";
import { OjsError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import { FrameParser, frameMessage } from "../../transport/grpc/raw.js";
import type { ServerCore } from "../core.js";
import type { JobRecord } from "../store/store.js";
import type { SubmitResult } from "../store/records.js";
import { tenantFromHeaders } from "../tenancy/request.js";
import { ackJob, endJobStream, enqueueJobs, enqueueSubmit, enqueueSubmitNow, nackJob } from "./calls.js";
import { FrameCoalescer } from "./coalesce.js";
import { GRPC_OK_HEADERS, OK_TRAILERS, requestTooLarge, sendTrailersOnDemand } from "./call-parts.js";
import { staleStreamError, toConnectError } from "./errors.js";
import { DurableReplies } from "./durable-replies.js";
import { okTrailersWithMessage } from "./one-write.js";
import { notePush, pushLeaving } from "./push-order.js";

type Method = (call: RawCall, core: ServerCore) => void;

const METHODS: Record<string, Method> = {
  "/ojs.v1.OJSService/StreamJobs": streamJobs,
  "/ojs.v1.OJSService/EnqueueBatch": enqueueBatch,
  "/ojsconnect.v1.FastPathService/EnqueueStream": enqueueStream,
  "/ojsconnect.v1.FastPathService/SettleStream": settleStream,
  "/ojsconnect.v1.FastPathService/EnqueueBatch": enqueueBatchCompact,
};

/** Returns a request handler that takes the hot methods and reports whether it did. */
export function rawGrpcHandler(core: ServerCore): (req: Http2ServerRequest, res: Http2ServerResponse) => boolean {
  return (req) => {
    if (req.httpVersionMajor !== 2) return false;
    const ct = req.headers["content-type"];
    if (ct !== "application/grpc" && ct !== "application/grpc+proto") return false;
    const enc = req.headers["grpc-encoding"];
    if (enc !== undefined && enc !== "identity") return false;
    const method = METHODS[req.url];
    if (!method) return false;
    // Switched off, the fast path's methods are unknown here (connect answers UNIMPLEMENTED), as on any other server.
    if (!core.fastPath && req.url.startsWith("/ojsconnect.")) return false;
    method(new RawCall(req, core.limits.maxMessageBytes), core);
    return true;
  };
}

/** One call: request messages in, response messages out, the status in trailers. */
export class RawCall {
  /** The response headers: GRPC_OK_HEADERS, or the same with the server's version headers (the unary methods). */
  responseHeaders = GRPC_OK_HEADERS;

  readonly stream: ServerHttp2Stream;
  private responded = false;
  private finished = false;
  trailers = OK_TRAILERS;
  private readonly parser: FrameParser;
  /** Messages sent in one tick leave in one write; made by the first send() (a unary call never needs it). */
  private coalescer: FrameCoalescer | undefined;
  /** Answers that may make jobs available (enqueues): they leave after the pushes of their turn (./push-order.ts). */
  answersAfterPushes = false;

  constructor(
    readonly req: Http2ServerRequest,
    maxMessageBytes: number,
  ) {
    this.parser = new FrameParser(maxMessageBytes, requestTooLarge);
    this.stream = req.stream;
    const rid = req.headers["x-ojs-request-id"];
    if (typeof rid === "string") this.requestId = rid;
  }

  readonly requestId: string | undefined;
  /** The call's tenant (multi-tenancy), read from its headers once: undefined before, null for none. */
  private tenantOf: string | null | undefined;

  /** The x-ojs-tenant metadata (bound to the key by the access layer), the same for every call of a stream. */
  get tenant(): string | undefined {
    if (this.tenantOf === undefined) this.tenantOf = tenantFromHeaders(this.req) ?? null; // the request's own header object: no bag or closure
    return this.tenantOf ?? undefined;
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  /**
   * Calls `onMessage` for every request message; `onEnd` once the client half-closed.
   * Read from the HTTP/2 stream itself: the compat request in front of it would push
   * every chunk through a second Readable (and its 'end' through another tick).
   */
  read(onMessage: (m: Uint8Array) => void, onEnd: () => void): void {
    this.stream.on("data", (chunk: Buffer) => {
      if (this.finished) return;
      try {
        this.parser.push(chunk, onMessage);
      } catch (e) {
        // Framing the client got wrong (a compressed flag without an encoding) is its mistake: INVALID_ARGUMENT.
        this.fail(e instanceof OjsError ? e : new OjsError(`malformed gRPC frame: ${(e as Error).message}`, { code: "invalid_request" }));
      }
    });
    this.stream.on("end", () => {
      if (this.finished) return;
      if (this.parser.incomplete) this.fail(new OjsError("the request ended inside a message", { code: "invalid_request" }));
      else onEnd();
    });
  }

  /** Reads exactly one request message (unary and server-streaming calls). */
  readOne(onMessage: (m: Uint8Array) => void): void {
    let got: Uint8Array | undefined;
    this.read(
      (m) => {
        if (got) return this.fail(new OjsError("expected one request message", { code: "invalid_request" }));
        got = m;
      },
      () => (got ? onMessage(got) : this.fail(new OjsError("missing request message", { code: "invalid_request" }))),
    );
  }

  /** `last`: the message about to be written ends the call with OK, so the trailers may leave with it (./one-write.ts). */
  private respond(last = false): void {
    if (this.responded) return;
    this.responded = true;
    const headers = this.requestId ? { ...this.responseHeaders, "x-ojs-request-id": this.requestId } : this.responseHeaders;
    this.stream.respond(headers, { waitForTrailers: true });
    // The compat response object has its own 'wantTrailers' listener; only one may send trailers.
    this.stream.removeAllListeners("wantTrailers");
    if (!(last && okTrailersWithMessage(this.stream))) sendTrailersOnDemand(this.stream, this);
  }

  private get out(): FrameCoalescer {
    return (this.coalescer ??= new FrameCoalescer(
      (framed) => {
        if (!this.stream.destroyed) this.stream.write(framed);
      },
      this.answersAfterPushes ? pushLeaving : undefined,
    ));
  }

  /** Queues one response message, written with the others of this tick; false once the call is over. */
  send(msg: Uint8Array): boolean {
    if (this.finished || this.stream.destroyed) return false;
    this.respond();
    this.out.add(msg);
    return true;
  }

  /**
   * Ends a unary call with its one response message: headers, message and
   * OK leave in one write (no coalescing to wait for, no separate end, the
   * trailers with the message where ./one-write.ts can).
   */
  endWith(msg: Uint8Array): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stream.destroyed) return this.coalescer?.clear();
    this.respond(true);
    // Anything sent before goes first (a unary call has sent nothing).
    this.coalescer?.flush();
    this.stream.end(frameMessage(msg));
  }

  get closed(): boolean {
    return this.finished || this.stream.destroyed || this.stream.closed;
  }

  /** Ends the call with OK. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stream.destroyed) return this.coalescer?.clear();
    this.respond();
    this.coalescer?.flush();
    this.stream.end();
  }

  /** Ends the call with the error's status (gRPC code and ErrorInfo, as the connect routes send). */
  fail(e: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stream.destroyed) return this.coalescer?.clear();
    // What was sent before the failure goes out before its status.
    this.coalescer?.flush();
    const status: OutgoingHttpHeaders = {};
    setTrailerStatus(new Headers(), toConnectError(e, this.requestId)).forEach((v, k) => (status[k] = v));
    if (this.responded) {
      this.trailers = status;
      this.stream.once("wantTrailers", () => this.stopReading());
      this.stream.end();
    } else {
      // Trailers-only: the status travels in the headers of an empty response.
      this.responded = true;
      this.stream.respond(
        {
          ...this.responseHeaders,
          ...(this.requestId ? { "x-ojs-request-id": this.requestId } : {}),
          ...status,
        },
        { endStream: true },
      );
      this.stopReading();
    }
  }

  /**
   * After a failure the call is over, but the client may still be sending (a
   * message over the limit, a stream it never half-closes): RST_STREAM with
   * NO_ERROR once the status is out tells it to stop, as gRPC servers do, and
   * ends the stream on both sides instead of leaving it half open.
   */
  private stopReading(): void {
    if (this.stream.readableEnded) return;
    setImmediate(() => {
      if (!this.stream.closed && !this.stream.destroyed) this.stream.close(constants.NGHTTP2_NO_ERROR);
    });
  }

  onClose(fn: () => void): void {
    this.stream.once("close", fn);
  }
}

/** Multi-tenancy: the call's x-ojs-tenant metadata (bound to the key by the access layer). */
export function tenant(call: RawCall): string | undefined {
  return call.tenant;
}

function visibility(call: RawCall): number | undefined {
  const v = Number(call.header(VISIBILITY_HEADER));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function callError(e: unknown): WireCallError {
  const err = e instanceof OjsError ? e : new OjsError(e instanceof Error ? e.message : String(e), { code: "backend_error" });
  const out: WireCallError = { code: err.code, message: err.message, retryable: err.retryable };
  const details: Record<string, string> = {};
  for (const [k, v] of Object.entries(err.details ?? {})) if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") details[k] = String(v);
  // What RetryInfo says for a unary call; a stream's call error carries it as a detail.
  const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
  if (retryAfter !== undefined) details.retry_after_ms = String(retryAfter);
  if (Object.keys(details).length) out.details = details;
  return out;
}

function failedCall(seq: number, e: unknown): SettleOutcome {
  return { seq, error: callError(e) };
}

/**
 * Pushes jobs as the store hands them to this consumer: each is encoded and
 * written at once. Jobs claimed after the stream broke go straight back.
 */
function streamJobs(call: RawCall, core: ServerCore): void {
  call.readOne((bytes) => {
    let req;
    try {
      req = fromBinary(StreamJobsRequestSchema, bytes);
    } catch (e) {
      return call.fail(new OjsError(`cannot decode StreamJobsRequest: ${(e as Error).message}`, { code: "invalid_request" }));
    }
    const store = core.jobs;
    const release = (rec: JobRecord) => void store.release(rec).catch((e: unknown) => core.fault(e, "release of a StreamJobs job"));
    store
      .openConsumer({
        queues: req.queues.length ? req.queues : ["default"],
        workerId: req.workerId || "anonymous",
        maxConcurrent: req.maxConcurrent > 0 ? req.maxConcurrent : 1,
        visibilityTimeoutMs: visibility(call),
        ...(tenant(call) !== undefined ? { tenant: tenant(call)! } : {}),
        deliver: (rec) => {
          if (call.closed) return release(rec);
          let bytes: Uint8Array;
          try {
            bytes = encodeJob(rec.job);
          } catch (e) {
            // Runs inside the store's dispatch: a throw here would end the process. A job that
            // cannot be encoded never will be; it fails for good, saying why, instead of looping.
            return undeliverable(core, rec, e);
          }
          call.send(bytes);
          notePush();
        },
        onStale: (reason) => {
          core.count(`streams.stale.${reason}`);
          call.fail(staleStreamError(reason));
        },
      })
      .then(
        (consumer) => {
          const close = () => endJobStream(core, consumer);
          // The stream ended while the store registered the consumer.
          if (call.closed) return close();
          const stop = () => {
            close();
            call.end();
          };
          core.streams.add(stop);
          call.onClose(() => {
            core.streams.delete(stop);
            close();
          });
        },
        (e: unknown) => call.fail(e),
      );
  });
}

function undeliverable(core: ServerCore, rec: JobRecord, e: unknown): void {
  // Already settled elsewhere when this fails: nothing left to do.
  core.jobs
    .nack(rec.id, { code: "undeliverable", message: `the job cannot be encoded for gRPC: ${(e as Error).message}`, retryable: false }, rec.workerId)
    .catch(() => {});
}

/** A call's answer: the job, and the request it may be sent without (`entry`, when the client asked so), except for a
 *  unique policy's duplicate, a job the request did not make, which goes back whole. */
function enqueueAnswer(seq: number, { rec, deduplicated }: SubmitResult, entry: NormalizedJobRequest | undefined): EnqueueOutcome {
  return { seq, job: rec.job, entry: deduplicated ? undefined : entry };
}

function enqueueStream(call: RawCall, core: ServerCore): void {
  call.answersAfterPushes = true;
  // The client keeps each call's request: a new job goes back without what it shares with it (../../codec/wire/assigned.ts).
  const assigned = call.header(ENQUEUE_ANSWER_HEADER) === "assigned";
  callFrames(call, core, {
    message: "EnqueueStreamRequest",
    decode: (bytes) => decodeEnqueueStreamRequest(bytes, core.store.clock.now()),
    issue: ({ seq, request }): EnqueueOutcome | Promise<EnqueueOutcome> => {
      if (!request) return { seq, error: callError(new OjsError("enqueue call without a request", { code: "invalid_request" })) };
      // A store that applies the job at once answers now, without a promise: ./durable-replies.ts sends a
      // frame of such answers one microtask later (after the pushes they caused), not a chain of them.
      const submitNow = core.jobs.submitNow;
      if (submitNow) {
        try {
          return enqueueAnswer(seq, enqueueSubmitNow(core, submitNow, request, tenant(call)), assigned ? request : undefined);
        } catch (e) {
          return { seq, error: callError(e) };
        }
      }
      return enqueueSubmit(core, request, tenant(call)).then(
        (r) => enqueueAnswer(seq, r, assigned ? request : undefined),
        (e: unknown) => ({ seq, error: callError(e) }),
      );
    },
    encode: encodeEnqueueStreamResponse,
  });
}

function settleStream(call: RawCall, core: ServerCore): void {
  callFrames(call, core, {
    message: "SettleStreamRequest",
    decode: decodeSettleStreamRequest,
    // No named closure per call (tsx names each one as it is made): this runs for every ack.
    issue: (c): Promise<SettleOutcome> => {
      if (c.ack)
        return ackJob(core, c.ack.jobId, c.ack.result, c.workerId, tenant(call)).then(
          (): SettleOutcome => ({ seq: c.seq, ack: { acknowledged: true } }),
          (e: unknown) => failedCall(c.seq, e),
        );
      if (c.nack)
        return nackJob(core, c.nack.jobId, c.nack.error, c.workerId, tenant(call)).then(
          (nack): SettleOutcome => ({ seq: c.seq, nack }),
          (e: unknown) => failedCall(c.seq, e),
        );
      if (c.started) {
        const jobId = c.started.jobId;
        return core.jobs
          .markStarted([jobId], c.workerId || "anonymous")
          .then((lost): SettleOutcome => {
            if (lost.length) throw new OjsError(`job ${jobId} is not active for this worker`, { code: "invalid_state", jobId });
            return { seq: c.seq, started: true };
          })
          .catch((e: unknown) => failedCall(c.seq, e));
      }
      return Promise.resolve(failedCall(c.seq, new OjsError("a settle call needs an ack, a nack or a start", { code: "invalid_request" })));
    },
    encode: encodeSettleStreamResponse,
  });
}

/** One pipelined call stream: how its frames decode, how one call is issued, how a frame of outcomes encodes. */
interface CallFrames<C, O> {
  message: string;
  decode: (bytes: Uint8Array) => C[];
  /** Never rejects: a failed call is an outcome with an error. An outcome known at once may come as it is. */
  issue: (c: C) => O | Promise<O>;
  encode: (os: O[]) => Uint8Array;
}

/** Each frame of calls is answered by one frame of outcomes, in order; a failed call never ends the stream. */
function callFrames<C, O extends { seq: number; error?: WireCallError }>(call: RawCall, core: ServerCore, s: CallFrames<C, O>): void {
  const replies = new DurableReplies(core, call);
  call.read(
    (bytes) => {
      let calls;
      try {
        calls = s.decode(bytes);
      } catch (e) {
        return call.fail(new OjsError(`cannot decode ${s.message}: ${(e as Error).message}`, { code: "invalid_request" }));
      }
      // Every call of the frame is issued now, in order; the frame is answered once all are.
      replies.send(calls.map(s.issue), s.encode, (os, e) => os.map((o) => (o.error ? o : ({ seq: o.seq, error: callError(e) } as O))));
    },
    () => replies.end(),
  );
}

/** Unary and atomic, as the connect route. */
function enqueueBatch(call: RawCall, core: ServerCore): void {
  batchCall(call, core, (jobs) => encodeEnqueueBatchResponse(jobs));
}

/** The fast path's EnqueueBatch: the same call, each job answered without what it shares with its entry. */
function enqueueBatchCompact(call: RawCall, core: ServerCore): void {
  batchCall(call, core, (jobs, entries) => encodeEnqueueBatchAnswer(jobs, entries, call.header(BATCH_ANSWER_HEADER) === "previous"));
}

/** An EnqueueBatchRequest in, the jobs (`answer` gets them with the entries as decoded) out. */
function batchCall(call: RawCall, core: ServerCore, answer: (jobs: Job[], entries: NormalizedJobRequest[]) => Uint8Array): void {
  call.readOne((bytes) => {
    let req;
    try {
      req = decodeEnqueueBatchRequest(bytes, core.store.clock.now());
    } catch (e) {
      return call.fail(new OjsError(`cannot decode EnqueueBatchRequest: ${(e as Error).message}`, { code: "invalid_request" }));
    }
    void (async () => {
      try {
        const reply = answer(await enqueueJobs(core, req.jobs, req.defaults, tenant(call)), req.jobs);
        await core.durable();
        call.send(reply);
        call.end();
      } catch (e) {
        call.fail(e);
      }
    })();
  });
}
