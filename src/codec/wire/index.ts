/**
 * A hand-written protobuf binary codec for the hot ojs.v1 / ojsconnect.v1
 * messages, converting directly between domain objects and wire bytes: no
 * protobuf-es message objects, no google.protobuf.Value trees.
 *
 * Meaning: exactly that of ../proto.ts (jobToProto/jobFromProto,
 * requestToProto/requestFromProto, resultToStruct/resultFromStruct,
 * jobErrorToProto/jobErrorFromProto). Bytes: encoders write what protobuf-es's
 * toBinary writes for the same message, byte for byte. Decoders accept any
 * valid encoding: fields in any order, unknown fields (groups too), packed or
 * unpacked enums, repeated fields split, singular message fields repeated
 * (merged, as protobuf says).
 *
 * Where this codec deliberately differs from the protobuf-es path:
 * - a string that starts with U+FEFF keeps it (protobuf-es's TextDecoder drops it);
 * - a JSON key "__proto__" stays an own key (protobuf-es loses it);
 * - a non-JSON value (undefined, function, bigint) anywhere in a JSON tree is
 *   written as a Value with no kind, read back as null (protobuf-es does that
 *   inside objects but throws on one in args);
 * - an unknown field inside a Struct's map entry is skipped (protobuf-es's map
 *   reader does not skip it and fails on the bytes that follow);
 * - malformed input raises WireFormatError (protobuf-es raises plain Errors and
 *   lets a nested message's field run past the nested message's end).
 * -0, NaN and ±Infinity travel bit for bit, as with protobuf-es (JSON cannot
 * carry them: over HTTP -0 becomes 0 and the others null).
 *
 * Adding a Job field, and how the field tags are checked: README.md in this folder.
 *
 * Every function is synchronous. Encoders write into shared slabs and return a
 * view of one (no copy, no ArrayBuffer per message): the caller owns the bytes
 * of the view, but `.buffer` holds other messages too.
 */
import { WireFormatError } from "./buffer.js";
import type { EnqueueBatch, EnqueueBatchResult, WireBatchJobError } from "./batch.js";
import type { EnqueueOptionsFields } from "./enqueue.js";
import type { EnqueueCall, EnqueueOutcome, SettleCall, SettleOutcome, WireCallError } from "./fastpath.js";
import type { WireAckRequest, WireAckResponse, WireNackRequest } from "./worker.js";

export { WireFormatError };
export type {
  EnqueueBatch,
  EnqueueBatchResult,
  EnqueueCall,
  EnqueueOptionsFields,
  EnqueueOutcome,
  SettleCall,
  SettleOutcome,
  WireAckRequest,
  WireAckResponse,
  WireBatchJobError,
  WireCallError,
  WireNackRequest,
};

export * from "./ojs-messages.js";
export * from "./fastpath-frames.js";
export * from "./well-known.js";
export * from "./batch-answer.js";
export * from "./assigned.js";
