/**
 * Client side of the fast path (ojsconnect.v1.FastPathService): enqueue, ack
 * and nack as calls pipelined over two long-lived gRPC streams on the
 * transport's HTTP/2 connection (./wire.ts), framed by ./raw.ts and encoded by the
 * hand-written codec. Used only when the server's manifest lists the extension.
 */
import {
  ENQUEUE_ANSWER_HEADER,
  decodeEnqueueStreamResponse,
  decodeSettleStreamResponse,
  fillFromEntry,
  sentEntry,
  encodeEnqueueStreamRequest,
  encodeSettleStreamRequest,
  type EnqueueCall,
  type EnqueueOutcome,
  type SettleCall,
  type SettleOutcome,
  type WireCallError,
} from "../../codec/wire/index.js";
import { errorFromCode, errorSpec, OjsError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { NackResult } from "../../model/system.js";
import type { AckRequest, CallOptions, NackRequest } from "../transport.js";
import { fromConnectError } from "./errors.js";
import { nackErrorForProto } from "./messages.js";
import { Pipeline } from "./pipeline.js";
import type { GrpcWire } from "./wire.js";

export const FAST_PATH_EXTENSION = "ojs-connect.fastpath.v1";
/** Listed beside the fast path by servers that answer its EnqueueBatch compactly (./batch.ts). */
export const COMPACT_BATCH_EXTENSION = "ojs-connect.compact-batch.v1";
/** Listed beside the fast path by servers that answer EnqueueStream calls as AssignedJobs when asked (ENQUEUE_ANSWER_HEADER). */
export const ASSIGNED_ENQUEUE_EXTENSION = "ojs-connect.assigned-enqueue.v1";

function callError(e: WireCallError, operation: string, jobId?: string): OjsError {
  const retryAfterMs = Number(e.details?.retry_after_ms);
  return errorFromCode(e.code, e.message, {
    ...(Number.isFinite(retryAfterMs) && e.details?.retry_after_ms !== undefined ? { retryAfterMs } : {}),
    operation,
    retryable: e.retryable,
    // As if the call had been unary: the status its code maps to.
    grpcCode: errorSpec(e.code).grpc,
    ...(e.details && Object.keys(e.details).length ? { details: { ...e.details } } : {}),
    ...(jobId ? { jobId } : {}),
  });
}

/**
 * One settle call as the pipeline holds it: every op field present (undefined
 * where unused) and seq filled in when the frame is written, so that acks,
 * nacks and starts share one object shape. Spreading calls of different
 * shapes into new objects made encoding them several times dearer (V8 sees
 * many shapes at every property read).
 */
type SettleRequest = SettleCall & {
  /** A start signal whose job was acked or nacked before it left: the settle says the job ran. */
  redundant: boolean;
};

function settleCall(workerId: string, ack: SettleCall["ack"], nack: SettleCall["nack"], started: SettleCall["started"]): SettleRequest {
  return { seq: 0, workerId, ack, nack, started, redundant: false } as SettleRequest;
}

function rethrow(e: unknown): never {
  throw e;
}

/** What a start signal left out of its frame is answered with. */
const STARTED: SettleOutcome = { seq: 0, started: true };

/**
 * One enqueue call as the pipeline holds it. `sent`: the fields an AssignedJob answer takes from
 * the request, as the server decoded them (sentEntry), taken when the frame is encoded.
 */
interface EnqueueRequestCall {
  req: NormalizedJobRequest;
  sent: NormalizedJobRequest | undefined;
}

export class FastPath {
  private readonly enqueues: Pipeline<EnqueueRequestCall, EnqueueOutcome>;
  private readonly settles: Pipeline<SettleRequest, SettleOutcome>;
  /**
   * Start signals not sent yet, by job id. A job that ends before its start
   * signal leaves (a short handler: the ack comes in the same turn of the
   * event loop) needs no start signal: its ack or nack settles the attempt,
   * and the start would only cost a call each way.
   */
  private readonly unsentStarts = new Map<string, SettleRequest>();

  constructor(
    wire: GrpcWire,
    headers: Record<string, string>,
    /** The server answers the fast path's EnqueueBatch (COMPACT_BATCH_EXTENSION). */
    readonly compactBatch = false,
    /** The server answers enqueue calls as AssignedJobs when asked (ASSIGNED_ENQUEUE_EXTENSION). */
    readonly assignedEnqueue = false,
  ) {
    const enqueueHeaders = assignedEnqueue ? { ...headers, [ENQUEUE_ANSWER_HEADER]: "assigned" } : headers;
    this.enqueues = new Pipeline({
      operation: "enqueue",
      open: (handlers) => wire.open("/ojsconnect.v1.FastPathService/EnqueueStream", enqueueHeaders, handlers),
      frame: (calls) => {
        const list = new Array<EnqueueCall>(calls.length);
        for (let i = 0; i < calls.length; i++) list[i] = { seq: calls[i]!.seq, request: calls[i]!.call.req };
        const bytes = encodeEnqueueStreamRequest(list);
        // What the server will decode of each request, taken now: a caller's later change to its args is in neither.
        if (assignedEnqueue) for (let i = 0; i < calls.length; i++) calls[i]!.call.sent = sentEntry(calls[i]!.call.req);
        return bytes;
      },
      outcomes: decodeEnqueueStreamResponse,
      streamError: (e) => fromConnectError(e, "enqueue"),
    });
    this.settles = new Pipeline({
      operation: "settle",
      open: (handlers) => wire.open("/ojsconnect.v1.FastPathService/SettleStream", headers, handlers),
      // Acks of jobs pushed in several chunks (and the start signals they make redundant) share a frame.
      flushOn: "immediate",
      answeredLocally: (c) => (c.redundant ? STARTED : undefined),
      frame: (calls) => {
        this.unsentStarts.clear();
        const list = new Array<SettleCall>(calls.length);
        for (let i = 0; i < calls.length; i++) {
          const c = calls[i]!;
          c.call.seq = c.seq;
          list[i] = c.call;
        }
        return encodeSettleStreamRequest(list);
      },
      outcomes: decodeSettleStreamResponse,
      streamError: (e) => fromConnectError(e, "settle"),
    });
  }

  enqueue(req: NormalizedJobRequest, timeoutMs: number, opts?: CallOptions): Promise<Job> {
    const call: EnqueueRequestCall = { req, sent: undefined };
    // A plain then, not an async function: one promise fewer on every enqueue.
    return this.enqueues.call(call, opts?.timeoutMs ?? timeoutMs, opts?.signal).then((o) => {
      if (o.job) {
        if (o.fromRequest) {
          if (!call.sent) throw new OjsError("the server answered an enqueue as an assigned job, unasked", { code: "backend_error", operation: "enqueue" });
          fillFromEntry(o.job, o.fromRequest, call.sent);
        }
        return o.job;
      }
      if (o.error) throw callError(o.error, "enqueue");
      throw new OjsError("the server answered an enqueue with nothing", { code: "backend_error", operation: "enqueue" });
    });
  }

  /** The job's start signal, if it has not left yet, need not: its settle is on the way. */
  private settling(jobId: string): void {
    const start = this.unsentStarts.get(jobId);
    if (start === undefined) return;
    start.redundant = true;
    this.unsentStarts.delete(jobId);
  }

  ack(req: AckRequest, timeoutMs: number, opts?: CallOptions): Promise<void> {
    return this.ackOr(req, timeoutMs, opts, rethrow);
  }

  /**
   * ack, with what to do when the call fails (the stream broke, a timeout) in the same then
   * as the answer's check: every job of a streaming worker ends here, and a catch after it
   * cost one promise more each time. A refused answer (o.error) is thrown, not handed to it.
   */
  ackOr(req: AckRequest, timeoutMs: number, opts: CallOptions | undefined, failed: (e: unknown) => Promise<void>): Promise<void> {
    this.settling(req.jobId);
    const ack = { jobId: req.jobId, result: req.result };
    // A plain then, not an async function: one promise fewer on every job's way out.
    return this.settles.call(settleCall(req.workerId ?? "", ack, undefined, undefined), opts?.timeoutMs ?? timeoutMs, opts?.signal).then((o) => {
      if (o.error) throw callError(o.error, "ack", req.jobId);
    }, failed);
  }

  async nack(req: NackRequest, timeoutMs: number, opts?: CallOptions): Promise<NackResult> {
    this.settling(req.jobId);
    const nack = { jobId: req.jobId, error: nackErrorForProto(req) };
    const o = await this.settles.call(settleCall(req.workerId ?? "", undefined, nack, undefined), opts?.timeoutMs ?? timeoutMs, opts?.signal);
    if (o.error) throw callError(o.error, "nack", req.jobId);
    if (!o.nack) throw new OjsError("the server answered a nack with something else", { code: "backend_error", operation: "nack" });
    return o.nack;
  }

  /** The start signal of a pushed job, pipelined with the acks and nacks. */
  started(jobId: string, workerId: string, timeoutMs: number, opts?: CallOptions): Promise<void> {
    const call = settleCall(workerId, undefined, undefined, { jobId });
    this.unsentStarts.set(jobId, call);
    return this.settles.call(call, opts?.timeoutMs ?? timeoutMs, opts?.signal).then((o) => {
      if (o.error) throw callError(o.error, "started", jobId);
    });
  }

  close(): void {
    this.unsentStarts.clear();
    this.enqueues.close();
    this.settles.close();
  }
}
