/**
 * The hot calls (enqueue, ack, nack) as plain functions of proto messages, so
 * that the unary RPCs and the fast path's pipelined streams run exactly the
 * same code.
 */
import { create } from "@bufbuild/protobuf";
import type { EnqueueRequest, Job as PbJob } from "../../../gen/ojs/v1/job_pb.js";
import { NackResponseSchema, type AckRequest, type NackRequest, type NackResponse } from "../../../gen/ojs/v1/worker_pb.js";
import { jobErrorFromProto, jobStateToProto, jobToProto, requestFromProto, resultFromStruct } from "../../codec/proto.js";
import { timestampFromDate } from "../../codec/values.js";
import type { ServerCore } from "../core.js";
import { enqueueChecked, revalidate } from "../shared.js";

export function enqueueCall(core: ServerCore, req: EnqueueRequest): PbJob {
  const r = revalidate(requestFromProto(req.type, req.args, req.options), core.store.clock.now());
  return jobToProto(enqueueChecked(core, r).rec.job);
}

export function ackCall(core: ServerCore, req: AckRequest, workerId?: string): void {
  core.store.ack(req.jobId, req.result ? resultFromStruct(req.result) : undefined, workerId || undefined);
}

export function nackCall(core: ServerCore, req: NackRequest, workerId?: string): NackResponse {
  const err = req.error ? jobErrorFromProto(req.error) : { code: "error", message: "" };
  // proto3 has no "unset" bool: false is taken literally (do not retry), as the field says.
  err.retryable = req.error?.retryable ?? false;
  const rec = core.store.nack(req.jobId, err, workerId || undefined);
  const res = create(NackResponseSchema, { state: jobStateToProto(rec.job.state) });
  if (rec.job.state === "retryable" && rec.job.scheduledAt) res.nextAttemptAt = timestampFromDate(rec.job.scheduledAt);
  return res;
}
