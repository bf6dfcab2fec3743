/** The protobuf-es path (toBinary/fromBinary + src/codec/proto.ts), domain <-> bytes: the reference the hand-written codec is held to. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnqueueRequestSchema, JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { AckRequestSchema, NackRequestSchema, NackResponseSchema } from "../../gen/ojs/v1/worker_pb.js";
import {
  EnqueueStreamRequestSchema,
  EnqueueStreamResponseSchema,
  SettleStreamRequestSchema,
  SettleStreamResponseSchema,
  type CallError as PbCallError,
} from "../../gen/ojsconnect/v1/fastpath_pb.js";
import * as proto from "../../src/codec/proto.js";
import * as values from "../../src/codec/values.js";
import * as wire from "../../src/codec/wire/index.js";
import type { EnqueueCall, EnqueueOutcome, SettleCall, SettleOutcome, WireCallError } from "../../src/codec/wire/index.js";
import type { Job, NormalizedJobRequest } from "../../src/model/job.js";
import type { NackResult } from "../../src/model/system.js";
import { NOW, args, state, job, request, seq, callError, workerId } from "./wire-arbitraries.js";

// --- the protobuf-es path, domain <-> bytes ------------------------------------------------

export const pb = {
  encodeJob: (j: Job) => toBinary(JobSchema, proto.jobToProto(j)),
  decodeJob: (b: Uint8Array) => proto.jobFromProto(fromBinary(JobSchema, b)),
  encodeRequest: (r: NormalizedJobRequest) => toBinary(EnqueueRequestSchema, proto.requestToProto(r, NOW)),
  decodeRequest: (b: Uint8Array) => {
    const p = fromBinary(EnqueueRequestSchema, b);
    return proto.requestFromProto(p.type, p.args, p.options, NOW);
  },
  ackRequest: (a: wire.WireAckRequest) =>
    create(AckRequestSchema, { jobId: a.jobId, ...(a.result !== undefined ? { result: proto.resultToStruct(a.result) } : {}) }),
  nackRequest: (n: wire.WireNackRequest) => create(NackRequestSchema, { jobId: n.jobId, ...(n.error ? { error: proto.jobErrorToProto(n.error) } : {}) }),
  nackResponse: (n: NackResult) =>
    create(NackResponseSchema, {
      state: proto.jobStateToProto(n.state),
      ...(n.nextAttemptAt ? { nextAttemptAt: values.timestampFromDate(n.nextAttemptAt) } : {}),
    }),
  callError: (e: WireCallError) => ({ code: e.code, message: e.message, retryable: e.retryable, details: { ...(e.details ?? {}) } }),
};
export const pbAckFrom = (p: ReturnType<typeof pb.ackRequest>): wire.WireAckRequest =>
  p.result ? { jobId: p.jobId, result: proto.resultFromStruct(p.result) } : { jobId: p.jobId };
export const pbNackFrom = (p: ReturnType<typeof pb.nackRequest>): wire.WireNackRequest =>
  p.error ? { jobId: p.jobId, error: proto.jobErrorFromProto(p.error) } : { jobId: p.jobId };
export const pbNackResultFrom = (p: ReturnType<typeof pb.nackResponse>): NackResult => {
  const n: NackResult = { state: proto.jobStateFromProto(p.state) ?? "retryable" };
  if (p.nextAttemptAt) n.nextAttemptAt = values.dateFromTimestamp(p.nextAttemptAt);
  return n;
};
export const pbCallErrorFrom = (e: PbCallError): WireCallError => {
  const out: WireCallError = { code: e.code, message: e.message, retryable: e.retryable };
  if (Object.keys(e.details).length) out.details = { ...e.details };
  return out;
};

export const pbFrames = {
  encodeEnqueueRequest: (calls: EnqueueCall[]) =>
    toBinary(
      EnqueueStreamRequestSchema,
      create(EnqueueStreamRequestSchema, {
        calls: calls.map((c) => ({ seq: c.seq, ...(c.request ? { request: proto.requestToProto(c.request, NOW) } : {}) })),
      }),
    ),
  decodeEnqueueRequest: (b: Uint8Array): EnqueueCall[] =>
    fromBinary(EnqueueStreamRequestSchema, b).calls.map((c) =>
      c.request ? { seq: c.seq, request: proto.requestFromProto(c.request.type, c.request.args, c.request.options, NOW) } : { seq: c.seq },
    ),
  encodeEnqueueResponse: (os: EnqueueOutcome[]) =>
    toBinary(
      EnqueueStreamResponseSchema,
      create(EnqueueStreamResponseSchema, {
        outcomes: os.map((o) => ({
          seq: o.seq,
          result: o.job
            ? { case: "job" as const, value: proto.jobToProto(o.job) }
            : o.error
              ? { case: "error" as const, value: pb.callError(o.error) }
              : { case: undefined },
        })),
      }),
    ),
  decodeEnqueueResponse: (b: Uint8Array): EnqueueOutcome[] =>
    fromBinary(EnqueueStreamResponseSchema, b).outcomes.map((o) =>
      o.result.case === "job"
        ? { seq: o.seq, job: proto.jobFromProto(o.result.value) }
        : o.result.case === "error"
          ? { seq: o.seq, error: pbCallErrorFrom(o.result.value) }
          : { seq: o.seq },
    ),
  encodeSettleRequest: (calls: SettleCall[]) =>
    toBinary(
      SettleStreamRequestSchema,
      create(SettleStreamRequestSchema, {
        calls: calls.map((c) => ({
          seq: c.seq,
          workerId: c.workerId ?? "",
          op: c.ack
            ? { case: "ack" as const, value: pb.ackRequest(c.ack) }
            : c.nack
              ? { case: "nack" as const, value: pb.nackRequest(c.nack) }
              : c.started
                ? { case: "started" as const, value: { jobId: c.started.jobId } }
                : { case: undefined },
        })),
      }),
    ),
  decodeSettleRequest: (b: Uint8Array): SettleCall[] =>
    fromBinary(SettleStreamRequestSchema, b).calls.map((c) => {
      const out: SettleCall =
        c.op.case === "ack"
          ? { seq: c.seq, ack: pbAckFrom(c.op.value) }
          : c.op.case === "nack"
            ? { seq: c.seq, nack: pbNackFrom(c.op.value) }
            : c.op.case === "started"
              ? { seq: c.seq, started: { jobId: c.op.value.jobId } }
              : { seq: c.seq };
      if (c.workerId) out.workerId = c.workerId;
      return out;
    }),
  encodeSettleResponse: (os: SettleOutcome[]) =>
    toBinary(
      SettleStreamResponseSchema,
      create(SettleStreamResponseSchema, {
        outcomes: os.map((o) => ({
          seq: o.seq,
          result: o.ack
            ? { case: "ack" as const, value: { acknowledged: o.ack.acknowledged } }
            : o.nack
              ? { case: "nack" as const, value: pb.nackResponse(o.nack) }
              : o.error
                ? { case: "error" as const, value: pb.callError(o.error) }
                : o.started
                  ? { case: "started" as const, value: {} as Record<string, never> }
                  : { case: undefined },
        })),
      }),
    ),
  decodeSettleResponse: (b: Uint8Array): SettleOutcome[] =>
    fromBinary(SettleStreamResponseSchema, b).outcomes.map((o) =>
      o.result.case === "ack"
        ? { seq: o.seq, ack: { acknowledged: o.result.value.acknowledged } }
        : o.result.case === "nack"
          ? { seq: o.seq, nack: pbNackResultFrom(o.result.value) }
          : o.result.case === "error"
            ? { seq: o.seq, error: pbCallErrorFrom(o.result.value) }
            : o.result.case === "started"
              ? { seq: o.seq, started: true as const }
              : { seq: o.seq },
    ),
};

// --- other valid encodings of the same message --------------------------------------------
