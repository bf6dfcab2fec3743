/**
 * The fast path's EnqueueBatch in parts (CHUNKED_BATCH_EXTENSION): one batch sent as
 * several EnqueueBatchRequest messages on one call, answered by one EnqueueBatchAnswer
 * once the client half-closes. Each part is decoded and revalidated as it arrives, so
 * this process works on the first jobs while the client still encodes the last ones
 * (two cores, one batch). The batch stays one atomic store write: nothing is stored
 * before the half-close, a part that fails checks fails the whole call, and the jobs
 * are answered in the order sent, as the one-message EnqueueBatch.
 */
import { BATCH_ANSWER_HEADER, decodeEnqueueBatchRequest, encodeEnqueueBatchAnswer } from "../../codec/wire/index.js";
import { OjsError } from "../../model/errors.js";
import type { NormalizedJobRequest } from "../../model/job.js";
import { checkBatchSize } from "../../model/limits.js";
import type { ServerCore } from "../core.js";
import { requestTooLarge } from "./call-parts.js";
import { checkBatchJobs, commitBatch, type CheckedBatch } from "./calls.js";

/** Not in fastpath.proto's service (a method served by ./raw.ts alone): `stream ojs.v1.EnqueueBatchRequest` in, one EnqueueBatchAnswer out. */
export const CHUNKED_BATCH_PATH = "/ojsconnect.v1.FastPathService/EnqueueBatchChunks";

/** What this method needs of ./raw.ts's RawCall (named here: raw.ts imports this file). */
export interface BatchCall {
  readonly tenant: string | undefined;
  header(name: string): string | undefined;
  read(onMessage: (m: Uint8Array) => void, onEnd: () => void): void;
  send(msg: Uint8Array): boolean;
  end(): void;
  fail(e: unknown): void;
}

export function enqueueBatchChunked(call: BatchCall, core: ServerCore): void {
  // One instant for the whole batch's checks, as the one-message call has.
  const now = core.store.clock.now();
  const tenant = call.tenant;
  const batch: CheckedBatch = { entries: [], sizes: [] };
  // The entries as decoded, for the answer (it leaves out what each job shares with its entry).
  const sent: NormalizedJobRequest[] = [];
  let bytes = 0;
  let parts = 0;
  let failed = false;
  const fail = (e: unknown) => {
    failed = true;
    call.fail(e);
  };
  call.read(
    (m) => {
      if (failed) return;
      parts++;
      // The parts together are held to what one request message may carry, and to maxBatchJobs.
      bytes += m.length;
      if (bytes > core.limits.maxMessageBytes) return fail(requestTooLarge(bytes, core.limits.maxMessageBytes));
      let req;
      try {
        req = decodeEnqueueBatchRequest(m, now);
      } catch (e) {
        return fail(new OjsError(`cannot decode EnqueueBatchRequest: ${(e as Error).message}`, { code: "invalid_request" }));
      }
      try {
        checkBatchSize(core.limits, sent.length + req.jobs.length);
        checkBatchJobs(core, batch, req.jobs, req.defaults ?? {}, now, tenant);
      } catch (e) {
        return fail(e);
      }
      for (const j of req.jobs) sent.push(j);
    },
    () => {
      if (failed) return;
      if (parts === 0) return fail(new OjsError("missing request message", { code: "invalid_request" }));
      void (async () => {
        try {
          const reply = encodeEnqueueBatchAnswer(await commitBatch(core, batch), sent, call.header(BATCH_ANSWER_HEADER) === "previous");
          await core.durable();
          call.send(reply);
          call.end();
        } catch (e) {
          call.fail(e);
        }
      })();
    },
  );
}
