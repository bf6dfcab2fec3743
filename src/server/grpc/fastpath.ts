/**
 * The fast path (ojsconnect.v1.FastPathService): enqueue, ack and nack calls
 * pipelined over long-lived bidirectional streams. Each frame may carry many
 * calls; each call is answered in order with its outcome or its own error, and
 * a failed call never ends the stream. The calls run the very code of the
 * unary RPCs (./calls.ts).
 */
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import {
  CallErrorSchema,
  EnqueueOutcomeSchema,
  FastPathService,
  SettleOutcomeSchema,
  type CallError,
} from "../../../gen/ojsconnect/v1/fastpath_pb.js";
import { AckResponseSchema } from "../../../gen/ojs/v1/worker_pb.js";
import { OjsError } from "../../model/errors.js";
import type { ServerCore } from "../core.js";
import { ackCall, enqueueCall, nackCall } from "./calls.js";

export const FAST_PATH_EXTENSION = "ojs-connect.fastpath.v1";

function callError(e: unknown): CallError {
  const err = e instanceof OjsError ? e : new OjsError(e instanceof Error ? e.message : String(e), { code: "backend_error" });
  const details: Record<string, string> = {};
  for (const [k, v] of Object.entries(err.details ?? {})) if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") details[k] = String(v);
  return create(CallErrorSchema, { code: err.code, message: err.message, retryable: err.retryable, details });
}

export function fastPathRoutes(core: ServerCore): (router: ConnectRouter) => void {
  const impl: ServiceImpl<typeof FastPathService> = {
    async *enqueueStream(frames) {
      for await (const frame of frames) {
        yield {
          outcomes: frame.calls.map((c) => {
            try {
              return create(EnqueueOutcomeSchema, { seq: c.seq, result: { case: "job", value: enqueueCall(core, c.request!) } });
            } catch (e) {
              return create(EnqueueOutcomeSchema, { seq: c.seq, result: { case: "error", value: callError(e) } });
            }
          }),
        };
      }
    },

    async *settleStream(frames) {
      const acked = create(AckResponseSchema, { acknowledged: true });
      for await (const frame of frames) {
        yield {
          outcomes: frame.calls.map((c) => {
            try {
              if (c.op.case === "ack") {
                ackCall(core, c.op.value, c.workerId);
                return create(SettleOutcomeSchema, { seq: c.seq, result: { case: "ack", value: acked } });
              }
              if (c.op.case === "nack") return create(SettleOutcomeSchema, { seq: c.seq, result: { case: "nack", value: nackCall(core, c.op.value, c.workerId) } });
              throw new OjsError("a settle call needs an ack or a nack", { code: "invalid_request" });
            } catch (e) {
              return create(SettleOutcomeSchema, { seq: c.seq, result: { case: "error", value: callError(e) } });
            }
          }),
        };
      }
    },
  };
  return (router) => {
    router.service(FastPathService, impl);
  };
}
