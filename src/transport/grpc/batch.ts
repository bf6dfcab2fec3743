/**
 * EnqueueBatch hand-framed on the transport's HTTP/2 session: a thousand jobs
 * each way, where the hand-written codec is several times cheaper than
 * reflection. On our server's fast path (`compact`), the same request goes to
 * ojsconnect.v1.FastPathService/EnqueueBatch, whose answer leaves out what
 * each job shares with its request entry; the Jobs are rebuilt from the request sent.
 */
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { BATCH_ANSWER_HEADER, decodeEnqueueBatchAnswer, decodeEnqueueBatchResponse, encodeEnqueueBatchRequest } from "../../codec/wire/index.js";
import { OjsError, TimeoutError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { GrpcCallOptions } from "./calls.js";
import { rawCall } from "./raw.js";

const STANDARD = "/ojs.v1.OJSService/EnqueueBatch";
const COMPACT = "/ojsconnect.v1.FastPathService/EnqueueBatch";

export async function enqueueBatchRaw(
  session: Http2SessionManager,
  reqs: NormalizedJobRequest[],
  o: GrpcCallOptions,
  ours: boolean,
  compact = false,
): Promise<Job[]> {
  const deadline = AbortSignal.timeout(o.timeoutMs > 0 ? o.timeoutMs : 2 ** 31 - 1);
  const signal = o.signal ? AbortSignal.any([o.signal, deadline]) : deadline;
  let out: Job[] | undefined;
  try {
    const request = encodeEnqueueBatchRequest(reqs, undefined, Date.now(), ours);
    // This client reads FROM_PREVIOUS: most jobs of the compact answer come as their id alone.
    const headers = compact ? { ...o.headers, [BATCH_ANSWER_HEADER]: "previous" } : o.headers;
    for await (const msg of rawCall(session, compact ? COMPACT : STANDARD, headers, request, signal))
      out = compact ? decodeEnqueueBatchAnswer(msg, request) : decodeEnqueueBatchResponse(msg).jobs;
  } catch (e) {
    if (deadline.aborted && !o.signal?.aborted) throw new TimeoutError("enqueueBatch timed out", { operation: "enqueueBatch" });
    throw e;
  }
  if (!out) throw new OjsError("the server answered EnqueueBatch with no message", { code: "backend_error", operation: "enqueueBatch" });
  return out;
}
