/**
 * EnqueueBatch hand-framed on the transport's HTTP/2 session: a thousand jobs
 * each way, where the hand-written codec is several times cheaper than
 * reflection. On our server's fast path (`compact`), the same request goes to
 * ojsconnect.v1.FastPathService/EnqueueBatch, whose answer leaves out what
 * each job shares with its request entry; the Jobs are rebuilt from the request sent.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { BATCH_ANSWER_HEADER, decodeEnqueueBatchAnswer, decodeEnqueueBatchResponse, encodeEnqueueBatchRequest, sentEntry } from "../../codec/wire/index.js";
import { OjsError, TimeoutError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { GrpcCallOptions } from "./calls.js";
import { rawCall, type RawStream } from "./raw.js";
import type { GrpcWire } from "./wire.js";

const STANDARD = "/ojs.v1.OJSService/EnqueueBatch";
const COMPACT = "/ojsconnect.v1.FastPathService/EnqueueBatch";
/** The same batch in several request messages (src/server/grpc/chunked-batch.ts); not in fastpath.proto. */
const CHUNKED = "/ojsconnect.v1.FastPathService/EnqueueBatchChunks";

/** Jobs per message of a chunked batch: the server decodes and checks each part while the next is encoded. */
export const BATCH_PART_JOBS = 250;

/**
 * `compact`: the server answers the fast path's EnqueueBatch; `chunked`: it also takes one batch
 * as several messages (CHUNKED_BATCH_EXTENSION), still one atomic store write answered at once.
 */
export async function enqueueBatchRaw(
  wire: GrpcWire,
  reqs: NormalizedJobRequest[],
  o: GrpcCallOptions,
  ours: boolean,
  compact = false,
  chunked = false,
): Promise<Job[]> {
  const deadline = AbortSignal.timeout(o.timeoutMs > 0 ? o.timeoutMs : 2 ** 31 - 1);
  const signal = o.signal ? AbortSignal.any([o.signal, deadline]) : deadline;
  let out: Job[] | undefined;
  try {
    if (compact) {
      // This client reads FROM_PREVIOUS: most jobs of the compact answer come as their id alone.
      const headers = { ...o.headers, [BATCH_ANSWER_HEADER]: "previous" };
      // What the server will decode of each entry, taken with its bytes (a caller's later change to its
      // args is in neither), made from the requests, not by decoding the bytes (sentEntry: a tenth of the
      // CPU, and no Reader garbage). The compact method is our server's, which takes the tunnelled keys.
      const entries = new Array<NormalizedJobRequest>(reqs.length);
      const bytes = chunked
        ? await compactCall(wire, CHUNKED, headers, signal, (stream) => sendParts(stream, reqs, entries, ours))
        : await compactCall(wire, COMPACT, headers, signal, (stream) => {
            const request = encodeEnqueueBatchRequest(reqs, undefined, Date.now(), ours);
            for (let i = 0; i < reqs.length; i++) entries[i] = sentEntry(reqs[i]!);
            stream.send(request);
          });
      if (bytes) out = decodeEnqueueBatchAnswer(bytes, entries);
    } else {
      const request = encodeEnqueueBatchRequest(reqs, undefined, Date.now(), ours);
      for await (const msg of rawCall(wire, STANDARD, o.headers, request, signal)) out = decodeEnqueueBatchResponse(msg).jobs;
    }
  } catch (e) {
    if (deadline.aborted && !o.signal?.aborted) throw new TimeoutError("enqueueBatch timed out", { operation: "enqueueBatch" });
    throw e;
  }
  if (!out) throw new OjsError("the server answered EnqueueBatch with no message", { code: "backend_error", operation: "enqueueBatch" });
  return out;
}

/**
 * The batch in parts of BATCH_PART_JOBS, each handed to the socket as soon as it is encoded (where
 * the wire can: RawStream.flush), so the server decodes and checks the first jobs while this process
 * encodes the next ones. All in this turn: no caller code runs between a part's bytes and its entries.
 */
function sendParts(stream: RawStream, reqs: NormalizedJobRequest[], entries: NormalizedJobRequest[], ours: boolean): void {
  const now = Date.now();
  for (let at = 0; at < reqs.length; at += BATCH_PART_JOBS) {
    const end = Math.min(at + BATCH_PART_JOBS, reqs.length);
    stream.send(encodeEnqueueBatchRequest(reqs.slice(at, end), undefined, now, ours));
    stream.flush?.();
    for (let i = at; i < end; i++) entries[i] = sentEntry(reqs[i]!);
  }
}

/** A compact call: `write` sends the request message(s) on the open stream; the answer is its last message. */
async function compactCall(
  wire: GrpcWire,
  path: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  write: (stream: RawStream) => void,
): Promise<Uint8Array | undefined> {
  if (signal.aborted) throw new ConnectError("the call was cancelled", Code.Canceled);
  let bytes: Uint8Array | undefined;
  let settle!: (error: unknown) => void;
  const ended = new Promise<unknown>((r) => (settle = r));
  let done = false;
  const stream = await wire.open(path, headers, {
    message: (m) => (bytes = m),
    end: (e) => ((done = true), settle(e)),
  });
  const onAbort = () => {
    settle(new ConnectError("the call was cancelled", Code.Canceled));
    stream.cancel();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    write(stream);
    stream.end();
    const error = await ended;
    if (error) throw error;
    return bytes;
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!done) stream.cancel();
  }
}
