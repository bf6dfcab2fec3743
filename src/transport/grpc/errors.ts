import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema, BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AbortError, ConnectionError, codeForGrpcStatus, ERROR_TABLE, errorFromCode, OjsError, TimeoutError } from "../../model/errors.js";
import type { JsonObject } from "../../model/json.js";
import { msFromDuration } from "../../codec/values.js";

/**
 * A ConnectError (or anything thrown under a gRPC call) as an OjsError: the OJS
 * code comes from google.rpc.ErrorInfo when the server sent one, else from the
 * gRPC status through the code table.
 */
export function fromConnectError(e: unknown, operation: string, signal?: AbortSignal): OjsError {
  if (e instanceof OjsError) return e;
  const ce = ConnectError.from(e);
  const info = findDetail(ce, ErrorInfoSchema);
  const requestId = info?.metadata["request_id"] ?? ce.metadata.get("x-ojs-request-id") ?? undefined;
  const base = { operation, grpcCode: ce.code, cause: e, ...(requestId ? { requestId } : {}) };

  if (!info) {
    // CANCELLED is what a broken HTTP/2 stream looks like too: it is an abort only
    // when the caller asked for one; otherwise the connection failed (transient).
    if (ce.code === Code.Canceled)
      return signal?.aborted
        ? new AbortError(ce.rawMessage || "the call was cancelled", base)
        : new ConnectionError(ce.rawMessage || "the connection was lost", base);
    if (ce.code === Code.DeadlineExceeded) return new TimeoutError(ce.rawMessage || "deadline exceeded", base);
    // connect-node reports a reset socket as ABORTED; without an ErrorInfo from the
    // server, ABORTED and socket-level INTERNAL errors are connection failures.
    if (
      ce.code === Code.Unavailable ||
      ce.code === Code.Aborted ||
      ((ce.code === Code.Internal || ce.code === Code.Unknown) && /ECONN|EPIPE|socket|session|stream/i.test(ce.rawMessage))
    )
      return new ConnectionError(ce.rawMessage || "server unavailable", base);
  }

  // Servers without ErrorInfo often put the OJS code in the message, "[conflict] Cannot ...":
  // take it from there, and keep the message without it.
  const tagged = info ? undefined : /^\[([a-z_]+)\] (.*)$/s.exec(ce.rawMessage);
  const message = tagged ? tagged[2]! : ce.rawMessage;
  const code = info?.reason || (tagged && tagged[1]! in ERROR_TABLE ? tagged[1]! : undefined) || fallbackCode(ce.code, operation);
  const details: JsonObject = {};
  for (const [k, v] of Object.entries(info?.metadata ?? {})) if (k !== "retryable" && k !== "request_id") details[k] = v;
  const violations = findDetail(ce, BadRequestSchema)?.fieldViolations ?? [];
  if (violations.length) details.validation_errors = violations.map((v) => ({ path: v.field, message: v.description }));
  const retryInfo = findDetail(ce, RetryInfoSchema);
  const retryAfterHeader = Number(ce.metadata.get("retry-after"));
  const retryAfterMs = retryInfo?.retryDelay
    ? msFromDuration(retryInfo.retryDelay)
    : Number.isFinite(retryAfterHeader) && retryAfterHeader >= 0 && ce.metadata.has("retry-after")
      ? retryAfterHeader * 1000
      : undefined;
  const retryable = info?.metadata["retryable"] === undefined ? undefined : info.metadata["retryable"] === "true";
  const err = errorFromCode(code, message, {
    ...base,
    ...(Object.keys(details).length ? { details } : {}),
    ...(retryable !== undefined ? { retryable } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
  if (violations.length && "issues" in err) {
    (err as { issues: Array<{ path: string; message: string }> }).issues.push(...violations.map((v) => ({ path: v.field, message: v.description })));
  }
  return err;
}

/**
 * The OJS code a bare gRPC status stands for. ALREADY_EXISTS means "duplicate"
 * only where something is created; elsewhere servers use it for a state
 * conflict (an ack or a cancel of a job that already finished).
 */
function fallbackCode(grpc: Code, operation: string): string {
  if (grpc === Code.AlreadyExists && !CREATING.has(operation)) return "conflict";
  return codeForGrpcStatus(grpc);
}

const CREATING = new Set(["enqueue", "enqueueBatch", "createWorkflow", "registerCron", "registerSchema"]);

function findDetail<Desc extends DescMessage>(ce: ConnectError, desc: Desc): MessageShape<Desc> | undefined {
  try {
    return ce.findDetails(desc)[0];
  } catch {
    // A detail we cannot decode is not worth failing the error path for.
    return undefined;
  }
}
