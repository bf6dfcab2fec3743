/**
 * The ojsconnect.v1 fast-path frames of the wire codec: many enqueue or
 * settle calls in one message, and their outcomes.
 */
import {
  ENQUEUE_STREAM_REQUEST_SHAPE,
  ENQUEUE_STREAM_RESPONSE_SHAPE,
  SETTLE_STREAM_REQUEST_SHAPE,
  SETTLE_STREAM_RESPONSE_SHAPE,
  readEnqueueStreamRequest,
  readEnqueueStreamResponse,
  readSettleStreamRequest,
  readSettleStreamResponse,
  writeEnqueueStreamRequestBody,
  writeEnqueueStreamResponseBody,
  writeSettleStreamRequestBody,
  writeSettleStreamResponseBody,
  type EnqueueCall,
  type EnqueueOutcome,
  type SettleCall,
  type SettleOutcome,
} from "./fastpath.js";
import { decode, encodeWith, w } from "./two-pass.js";

// --- ojsconnect.v1 fast-path frames ----------------------------------------------------------

export function encodeEnqueueStreamRequest(calls: readonly EnqueueCall[], now: number = Date.now()): Uint8Array {
  w.reset();
  writeEnqueueStreamRequestBody(w, calls, now);
  return w.finish();
}
export function decodeEnqueueStreamRequest(bytes: Uint8Array, now: number = Date.now()): EnqueueCall[] {
  return decode(bytes, ENQUEUE_STREAM_REQUEST_SHAPE, readEnqueueStreamRequest, now);
}

export function encodeEnqueueStreamResponse(outcomes: readonly EnqueueOutcome[]): Uint8Array {
  return encodeWith(writeEnqueueStreamResponseBody, outcomes);
}
export function decodeEnqueueStreamResponse(bytes: Uint8Array): EnqueueOutcome[] {
  return decode(bytes, ENQUEUE_STREAM_RESPONSE_SHAPE, readEnqueueStreamResponse);
}

export function encodeSettleStreamRequest(calls: readonly SettleCall[]): Uint8Array {
  return encodeWith(writeSettleStreamRequestBody, calls);
}
export function decodeSettleStreamRequest(bytes: Uint8Array): SettleCall[] {
  return decode(bytes, SETTLE_STREAM_REQUEST_SHAPE, readSettleStreamRequest);
}

export function encodeSettleStreamResponse(outcomes: readonly SettleOutcome[]): Uint8Array {
  return encodeWith(writeSettleStreamResponseBody, outcomes);
}
export function decodeSettleStreamResponse(bytes: Uint8Array): SettleOutcome[] {
  return decode(bytes, SETTLE_STREAM_RESPONSE_SHAPE, readSettleStreamResponse);
}
