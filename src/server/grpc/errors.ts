import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema, BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { errorSpec, OjsError, ValidationError } from "../../model/errors.js";
import { durationFromMs } from "../../codec/values.js";

/** Turns anything a store call threw into a gRPC status carrying the OJS code in ErrorInfo. */
export function toConnectError(e: unknown, requestId?: string): ConnectError {
  if (e instanceof ConnectError) return e;
  const err = e instanceof OjsError ? e : new OjsError(e instanceof Error ? e.message : String(e), { code: "backend_error" });
  const spec = errorSpec(err.code);
  const metadata: Record<string, string> = { retryable: String(err.retryable) };
  if (requestId) metadata["request_id"] = requestId;
  if (err.details) {
    for (const [k, v] of Object.entries(err.details)) {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") metadata[k] = String(v);
    }
  }
  const details: ConstructorParameters<typeof ConnectError>[3] = [{ desc: ErrorInfoSchema, value: { reason: err.code, domain: "openjobspec.org", metadata } }];
  if (err instanceof ValidationError && err.issues.length) {
    details.push({
      desc: BadRequestSchema,
      value: { fieldViolations: err.issues.map((i) => ({ field: i.path, description: i.message })) },
    });
  }
  const retryAfter = (err as { retryAfterMs?: number }).retryAfterMs;
  const headers: Record<string, string> = {};
  if (retryAfter !== undefined) {
    details.push({ desc: RetryInfoSchema, value: { retryDelay: durationFromMs(retryAfter) } });
    headers["retry-after"] = String(Math.ceil(retryAfter / 1000));
  }
  return new ConnectError(err.message, spec.grpc as Code, headers, details, e);
}

/** Why the server ended a job stream: the worker reconnects (UNAVAILABLE is retryable) and gets a fresh one. */
export function staleStreamError(reason: "lease" | "superseded"): OjsError {
  return new OjsError(
    reason === "lease"
      ? "this stream's jobs went unacknowledged past their lease: the server stopped pushing to it; open a new stream"
      : "a newer stream of the same worker over the same queues replaced this one",
    { code: "unavailable", retryable: true, details: { reason: `stream_${reason}` } },
  );
}
