import { describe, expect, it } from "vitest";
import { UniqueConflictAction } from "../../gen/ojs/v1/job_pb.js";
import {
  healthToProto,
  jobStateFromProto,
  jobStateToProto,
  stepStateToProto,
  uniqueFromProto,
  uniqueToProto,
  workerStateFromProto,
  workerStateToProto,
  workflowStateToProto,
} from "../../src/codec/proto.js";
import { JOB_STATES, type UniqueConflict } from "../../src/model/job.js";

// The model's enum names find the generated enum members of the same name in capitals: none may miss.
describe("enum mappings of proto.ts", () => {
  it("every model value has its own proto number and comes back as itself", () => {
    const states = JOB_STATES.map(jobStateToProto);
    expect(new Set(states).size).toBe(JOB_STATES.length);
    for (const s of JOB_STATES) expect(jobStateFromProto(jobStateToProto(s))).toBe(s);
    for (const d of ["running", "quiet", "terminate"] as const) expect(workerStateFromProto(workerStateToProto(d))).toBe(d);
    const conflicts: UniqueConflict[] = ["reject", "replace", "ignore", "replace_except_schedule"];
    for (const c of conflicts) {
      expect(uniqueToProto({ onConflict: c }).onConflict).not.toBe(UniqueConflictAction.UNSPECIFIED);
      expect(uniqueFromProto(uniqueToProto({ onConflict: c })).onConflict).toBe(c);
    }
    for (const h of ["ok", "degraded", "unhealthy"] as const) expect(typeof healthToProto(h)).toBe("number");
    for (const s of ["waiting", "pending", "active", "completed", "failed", "cancelled"] as const) expect(stepStateToProto(s)).toBeGreaterThan(0);
    for (const s of ["running", "completed", "failed", "cancelled"] as const) expect(workflowStateToProto(s)).toBeGreaterThan(0);
    // The proto has no PENDING workflow.
    expect(workflowStateToProto("pending")).toBe(workflowStateToProto("running"));
  });
});
