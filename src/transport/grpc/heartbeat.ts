/**
 * Heartbeat over ojs.v1, which beats one job per call: a worker with N active
 * jobs makes N calls (concurrently, on the shared session); with none it makes
 * one call (job id "") to report its state. The strongest directive among the
 * answers wins. A job the server refuses to extend (not found, no longer
 * active) is reported `lost`; the heartbeat fails only if every beat failed
 * for another reason.
 */
import { dateFromTimestamp } from "../../codec/values.js";
import { workerStateFromProto } from "../../codec/proto.js";
import type { HeartbeatResponse } from "../../../gen/ojs/v1/worker_pb.js";
import type { OjsError } from "../../model/errors.js";
import type { HeartbeatResult, WorkerDirective } from "../../model/system.js";
import type { HeartbeatRequest } from "../transport.js";
import { fromConnectError } from "./errors.js";

export async function heartbeatEach(req: HeartbeatRequest, beat: (id: string) => Promise<HeartbeatResponse>): Promise<HeartbeatResult> {
  const ids = req.activeJobIds.length ? req.activeJobIds : [""];
  const answers = await Promise.allSettled(ids.map(beat));
  let directive: WorkerDirective = "running";
  let deadline: Date | undefined;
  const extended: string[] = [];
  const lost: string[] = [];
  let failure: OjsError | undefined;
  answers.forEach((a, i) => {
    if (a.status === "rejected") {
      const e = fromConnectError(a.reason, "heartbeat");
      // Refused because of the job's own state: the job is no longer ours. Anything else is a failed call.
      if (ids[i] && (e.code === "not_found" || e.code === "invalid_state" || e.code === "conflict")) lost.push(ids[i]!);
      else failure ??= e;
      return;
    }
    if (ids[i]) extended.push(ids[i]!);
    const d = workerStateFromProto(a.value.directedState);
    if (d === "terminate" || (d === "quiet" && directive === "running")) directive = d;
    if (a.value.newDeadline) {
      const nd = dateFromTimestamp(a.value.newDeadline);
      if (!deadline || nd > deadline) deadline = nd;
    }
  });
  if (failure && extended.length === 0 && lost.length === 0) throw failure;
  const out: HeartbeatResult = { directive, extended, lost };
  if (deadline) out.newDeadline = deadline;
  return out;
}
