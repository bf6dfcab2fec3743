import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { Writer } from "../../src/codec/wire/buffer.js";
import { genericJobFields } from "../../src/codec/wire/job-generic.js";
import { Reader } from "../../src/codec/wire/reader.js";
import { JOB, JOB_GENERIC_FIELDS } from "../../src/codec/wire/tags.generated.js";
import type { Job } from "../../src/model/job.js";

// A Job field job.ts does not name goes through protobuf-es and proto.ts. No field does today, so the
// test plays it with two that exist: workflow_id (a string) and timeout (a message, a Duration).
const fields = genericJobFields([JOB.workflowId >>> 3, JOB.timeout >>> 3]);
const job: Job = {
  ...{ id: "j1", type: "t", queue: "q", args: [], meta: {}, state: "active", priority: 0, attempt: 1, errors: [], tags: [], specversion: "1.0" },
  workflowId: "wf-1",
  timeout: 1500,
};

describe("Job fields coded through protobuf-es (job-generic.ts)", () => {
  it("today every Job field is coded by hand: no Job pays for this path", () => {
    expect(JOB_GENERIC_FIELDS).toEqual([]);
  });

  it("writes exactly what protobuf-es writes for those fields of jobToProto, and nothing of the others", () => {
    const w = new Writer();
    w.reset();
    fields.write(w, job);
    const pb = create(JobSchema, { timeout: { seconds: 1n, nanos: 500_000_000 }, workflowId: "wf-1" });
    expect(Buffer.from(w.finish())).toEqual(Buffer.from(toBinary(JobSchema, pb)));
  });

  it("keeps them as they are read and sets what jobFromProto makes of them", () => {
    const bytes = toBinary(JobSchema, create(JobSchema, { id: "x", workflowId: "wf-1", timeout: { seconds: 1n, nanos: 500_000_000 } }));
    const r = new Reader(bytes);
    let kept: number[] | undefined;
    while (r.pos < bytes.length) {
      const t = r.tag();
      if (fields.has(t)) kept = fields.keep(r, t, kept);
      else r.skip(t);
    }
    expect(r.pos).toBe(bytes.length);
    const out = { ...job, workflowId: undefined, timeout: undefined } as unknown as Job;
    delete out.workflowId;
    delete out.timeout;
    fields.apply(out, kept!);
    expect(out).toEqual(job);
  });
});
