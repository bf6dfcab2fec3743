/** Byte sizes of one real Enqueue exchange (protobuf plus the 5-byte gRPC frame), for the ceiling to copy, and a reader of such frames. */
import { create, toBinary } from "@bufbuild/protobuf";
import { EnqueueRequestSchema, EnqueueResponseSchema } from "../gen/ojs/v1/job_pb.js";
import { jobToProto, requestToProto } from "../src/codec/proto.js";
import { normalizeJobRequest } from "../src/model/schemas.js";
import { Store } from "../src/server/store/store.js";
import { JOB_TYPE, payload } from "./common.js";

export function enqueueWireSizes(): { requestBytes: number; responseBytes: number } {
  const req = normalizeJobRequest({ type: JOB_TYPE, args: payload(12_345), options: { queue: "bench-queue" } });
  const store = new Store();
  const rec = store.enqueue(req);
  store.close();
  return {
    requestBytes: toBinary(EnqueueRequestSchema, create(EnqueueRequestSchema, requestToProto(req))).length + 5,
    responseBytes: toBinary(EnqueueResponseSchema, create(EnqueueResponseSchema, { job: jobToProto(rec.job) })).length + 5,
  };
}

/** Splits a byte stream into length-prefixed messages, handing each message's length to `onMessage`. */
export function messageReader(onMessage: (length: number) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      buf = buf.subarray(5 + len);
      onMessage(len);
    }
  };
}
