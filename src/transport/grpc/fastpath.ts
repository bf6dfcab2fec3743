/**
 * Client side of the fast path (ojsconnect.v1.FastPathService): enqueue, ack
 * and nack as calls pipelined over two long-lived streams on the transport's
 * HTTP/2 session. Used only when the server's manifest lists the extension.
 */
import { createClient, type Client as RpcClient, type Transport as ConnectTransport } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import type { EnqueueRequest } from "../../../gen/ojs/v1/job_pb.js";
import {
  EnqueueStreamRequestSchema,
  FastPathService,
  SettleCallSchema,
  SettleStreamRequestSchema,
  type CallError,
  type EnqueueOutcome,
  type EnqueueStreamRequest,
  type SettleCall,
  type SettleOutcome,
  type SettleStreamRequest,
} from "../../../gen/ojsconnect/v1/fastpath_pb.js";
import { dateFromTimestamp } from "../../codec/values.js";
import { jobErrorToProto, jobFromProto, jobStateFromProto, requestToProto, resultToStruct } from "../../codec/proto.js";
import { errorFromCode, errorSpec, OjsError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { JsonObject } from "../../model/json.js";
import type { NackResult } from "../../model/system.js";
import type { AckRequest, CallOptions, NackRequest } from "../transport.js";
import { fromConnectError } from "./errors.js";
import { Pipeline } from "./pipeline.js";

export const FAST_PATH_EXTENSION = "ojs-connect.fastpath.v1";


function callError(e: CallError, operation: string, jobId?: string): OjsError {
  const details: JsonObject = { ...e.details };
  return errorFromCode(e.code, e.message, {
    operation,
    retryable: e.retryable,
    // As if the call had been unary: the status its code maps to.
    grpcCode: errorSpec(e.code).grpc,
    ...(Object.keys(details).length ? { details } : {}),
    ...(jobId ? { jobId } : {}),
  });
}

export class FastPath {
  private readonly rpc: RpcClient<typeof FastPathService>;
  private readonly enqueues: Pipeline<EnqueueRequest, EnqueueStreamRequest, { outcomes: EnqueueOutcome[] }, EnqueueOutcome>;
  private readonly settles: Pipeline<SettleCall, SettleStreamRequest, { outcomes: SettleOutcome[] }, SettleOutcome>;

  constructor(transport: ConnectTransport, headers: Record<string, string>) {
    this.rpc = createClient(FastPathService, transport);
    this.enqueues = new Pipeline({
      operation: "enqueue",
      open: (frames, signal) => this.rpc.enqueueStream(frames, { signal, headers, timeoutMs: 0 }),
      frame: (calls) => create(EnqueueStreamRequestSchema, { calls: calls.map(({ seq, call }) => ({ seq, request: call })) }),
      outcomes: (res) => res.outcomes.map((o) => ({ seq: o.seq, outcome: o })),
      streamError: (e) => fromConnectError(e, "enqueue"),
    });
    this.settles = new Pipeline({
      operation: "settle",
      open: (frames, signal) => this.rpc.settleStream(frames, { signal, headers, timeoutMs: 0 }),
      frame: (calls) =>
        create(SettleStreamRequestSchema, {
          calls: calls.map(({ seq, call }) => {
            call.seq = seq;
            return call;
          }),
        }),
      outcomes: (res) => res.outcomes.map((o) => ({ seq: o.seq, outcome: o })),
      streamError: (e) => fromConnectError(e, "settle"),
    });
  }

  async enqueue(req: NormalizedJobRequest, timeoutMs: number, opts?: CallOptions): Promise<Job> {
    const o = await this.enqueues.call(requestToProto(req), opts?.timeoutMs ?? timeoutMs, opts?.signal);
    if (o.result.case === "job") return jobFromProto(o.result.value);
    if (o.result.case === "error") throw callError(o.result.value, "enqueue");
    throw new OjsError("the server answered an enqueue with nothing", { code: "backend_error", operation: "enqueue" });
  }

  async ack(req: AckRequest, timeoutMs: number, opts?: CallOptions): Promise<void> {
    const ack = req.result === undefined ? { jobId: req.jobId } : { jobId: req.jobId, result: resultToStruct(req.result) };
    const call = create(SettleCallSchema, { op: { case: "ack", value: ack }, workerId: req.workerId ?? "" });
    const o = await this.settles.call(call, opts?.timeoutMs ?? timeoutMs, opts?.signal);
    if (o.result.case === "error") throw callError(o.result.value, "ack", req.jobId);
  }

  async nack(req: NackRequest, timeoutMs: number, opts?: CallOptions): Promise<NackResult> {
    // The proto bool cannot be "unset": an error is retryable unless it says otherwise.
    const error = jobErrorToProto({ ...req.error, retryable: req.error.retryable ?? true });
    const call = create(SettleCallSchema, { op: { case: "nack", value: { jobId: req.jobId, error } }, workerId: req.workerId ?? "" });
    const o = await this.settles.call(call, opts?.timeoutMs ?? timeoutMs, opts?.signal);
    if (o.result.case === "error") throw callError(o.result.value, "nack", req.jobId);
    if (o.result.case !== "nack") throw new OjsError("the server answered a nack with something else", { code: "backend_error", operation: "nack" });
    const out: NackResult = { state: jobStateFromProto(o.result.value.state) ?? "retryable" };
    if (o.result.value.nextAttemptAt) out.nextAttemptAt = dateFromTimestamp(o.result.value.nextAttemptAt);
    return out;
  }

  close(): void {
    this.enqueues.close();
    this.settles.close();
  }
}
