/**
 * Responses of the standard ojs.v1 unary calls that carry one job
 * (proto/ojs/v1/job.proto): EnqueueResponse, GetJobResponse and
 * CancelJobResponse all hold it as field 1.
 */
import type { Job } from "../../model/job.js";
import type { Writer } from "./buffer.js";
import { expectEnd, type Reader } from "./reader.js";
import { onceMessage, writeMessageField } from "./fields.js";
import { JOB_SHAPE, readJob, writeJobBody } from "./job.js";
import { one, shape, type Shape } from "./merge.js";

export const JOB_RESPONSE_SHAPE: Shape = shape({ 1: one(() => JOB_SHAPE) });

export function writeJobResponseBody(w: Writer, job: Job): void {
  writeMessageField(w, 0x0a /* JOB_RESPONSE.job */, writeJobBody, job);
}

/** The job of the response; undefined when the server sent none (an empty message). */
export function readJobResponse(r: Reader, end: number): Job | undefined {
  let job: Job | undefined;
  while (r.pos < end) {
    const t = r.tag();
    // A singular message field sent twice is merged, as protobuf says: the slow, general pass.
    if (t === 0x0a /* JOB_RESPONSE.job */) job = onceMessage(r, job, readJob);
    else r.skip(t);
  }
  expectEnd(r, end);
  return job;
}
