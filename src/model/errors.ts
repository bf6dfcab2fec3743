import type { JsonObject } from "./json.js";

/**
 * The one table that ties an OJS error code to its HTTP status, its gRPC status
 * code (numbers as in @connectrpc/connect's Code enum) and whether a caller may
 * retry. Transports and the embedded server all read it; nothing else maps codes.
 */
export const ERROR_TABLE = {
  invalid_request: { http: 400, grpc: 3, retryable: false },
  invalid_payload: { http: 400, grpc: 3, retryable: false },
  schema_validation: { http: 422, grpc: 3, retryable: false },
  validation_error: { http: 422, grpc: 3, retryable: false },
  invalid_workflow: { http: 400, grpc: 3, retryable: false },
  payload_too_large: { http: 413, grpc: 3, retryable: false },
  unsupported_media_type: { http: 415, grpc: 3, retryable: false },
  not_found: { http: 404, grpc: 5, retryable: false },
  duplicate: { http: 409, grpc: 6, retryable: false },
  conflict: { http: 409, grpc: 9, retryable: false },
  invalid_state: { http: 409, grpc: 9, retryable: false },
  queue_paused: { http: 422, grpc: 9, retryable: true },
  queue_full: { http: 429, grpc: 8, retryable: true },
  rate_limited: { http: 429, grpc: 8, retryable: true },
  unauthenticated: { http: 401, grpc: 16, retryable: false },
  permission_denied: { http: 403, grpc: 7, retryable: false },
  method_not_allowed: { http: 405, grpc: 12, retryable: false },
  unimplemented: { http: 501, grpc: 12, retryable: false },
  unsupported: { http: 501, grpc: 12, retryable: false },
  timeout: { http: 504, grpc: 4, retryable: true },
  cancelled: { http: 499, grpc: 1, retryable: false },
  unavailable: { http: 503, grpc: 14, retryable: true },
  backend_error: { http: 500, grpc: 13, retryable: true },
  internal_error: { http: 500, grpc: 13, retryable: true },
} as const satisfies Record<string, { http: number; grpc: number; retryable: boolean }>;

/** Every OJS error code this SDK knows (servers may send others). */
export type OjsErrorCode = keyof typeof ERROR_TABLE;

/** What a bare HTTP status (no code in the body) and a bare gRPC status (no ErrorInfo) mean. */
// prettier-ignore
const CODE_OF_HTTP_STATUS: Readonly<Record<number, OjsErrorCode>> = {
  400: "invalid_request", 401: "unauthenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
  408: "timeout", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_request",
  429: "rate_limited", 501: "unimplemented", 502: "unavailable", 503: "unavailable", 504: "timeout",
};
// prettier-ignore
const CODE_OF_GRPC_STATUS: Readonly<Record<number, OjsErrorCode>> = {
  1: "cancelled", 3: "invalid_request", 4: "timeout", 5: "not_found", 6: "duplicate", 7: "permission_denied",
  8: "rate_limited", 9: "invalid_state", 10: "conflict", 12: "unimplemented", 14: "unavailable", 16: "unauthenticated",
};

/** The code a bare HTTP status means when the body names none. */
export function codeForHttpStatus(status: number): OjsErrorCode {
  return Object.hasOwn(CODE_OF_HTTP_STATUS, status) ? CODE_OF_HTTP_STATUS[status]! : status >= 500 ? "backend_error" : "invalid_request";
}

/** The code a bare gRPC status means when no ErrorInfo names one. */
export function codeForGrpcStatus(grpc: number): OjsErrorCode {
  return Object.hasOwn(CODE_OF_GRPC_STATUS, grpc) ? CODE_OF_GRPC_STATUS[grpc]! : "backend_error";
}

/** The HTTP status, gRPC code and retryability of an error code; unknown codes count as backend_error. */
export function errorSpec(code: string): { http: number; grpc: number; retryable: boolean } {
  return (ERROR_TABLE as Record<string, { http: number; grpc: number; retryable: boolean }>)[code] ?? ERROR_TABLE.backend_error;
}

/** What an OjsError is built from. */
export interface OjsErrorInit {
  /** Any OJS error code; servers may send codes this SDK does not know. */
  code: string;
  retryable?: boolean;
  details?: JsonObject;
  requestId?: string;
  /** The SDK operation that failed, e.g. "enqueue". */
  operation?: string;
  jobId?: string;
  queue?: string;
  httpStatus?: number;
  grpcCode?: number;
  cause?: unknown;
}

/** What an OjsError carries over from its init as it is (each an own property, undefined when absent). */
const CONTEXT_FIELDS = ["details", "requestId", "operation", "jobId", "queue", "httpStatus", "grpcCode"] as const satisfies ReadonlyArray<keyof OjsErrorInit>;

/** Base class of every error the SDK raises; `code` is stable and safe to switch on. */
export class OjsError extends Error {
  override name = "OjsError";
  readonly code: string;
  readonly retryable: boolean;
  readonly details!: JsonObject | undefined;
  readonly requestId!: string | undefined;
  operation!: string | undefined;
  jobId!: string | undefined;
  queue!: string | undefined;
  readonly httpStatus!: number | undefined;
  readonly grpcCode!: number | undefined;

  constructor(message: string, init: OjsErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.retryable = init.retryable ?? errorSpec(init.code).retryable;
    Object.assign(this, Object.fromEntries(CONTEXT_FIELDS.map((k) => [k, init[k]])));
  }
}

/** What an error of a given kind is built from: its code is the kind's own unless given. */
export type OjsErrorOptions = Omit<OjsErrorInit, "code"> & { code?: string };

/** The constructor of a kind of OjsError: a message, and options whose code defaults to the kind's. */
export type OjsErrorKind = new (message: string, init?: OjsErrorOptions) => OjsError;

/**
 * The base of each kind of error below: the class name it reports, the code it
 * carries unless the server named another, and, for the kinds whose nature
 * decides it (a timeout may be retried, an abort not), its retryability.
 */
function errorKind(name: string, code: OjsErrorCode, retryable?: boolean): OjsErrorKind {
  return class extends OjsError {
    override name = name;
    constructor(message: string, init: OjsErrorOptions = {}) {
      super(message, { ...init, code: init.code ?? code, ...(retryable === undefined ? {} : { retryable }) });
    }
  };
}

/** The request was malformed or failed validation (client side or server side). */
export class ValidationError extends errorKind("ValidationError", "invalid_request", false) {
  /** The offending fields, e.g. [{ path: "options.priority", message: "..." }]. */
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(message: string, init: OjsErrorOptions & { issues?: ReadonlyArray<{ path: string; message: string }> } = {}) {
    super(message, init);
    this.issues = init.issues ?? [];
  }
}

/** What was asked for (a job, a queue, a worker, a schedule) does not exist on the server. */
export class NotFoundError extends errorKind("NotFoundError", "not_found") {}

/** A job with this id, or the same unique key, already exists. */
export class DuplicateJobError extends errorKind("DuplicateJobError", "duplicate") {
  /** The id of the job that caused the conflict, when the server said. */
  get existingJobId(): string | undefined {
    const v = this.details?.["existing_job_id"];
    return typeof v === "string" ? v : undefined;
  }
}

/** The operation does not fit the current state (e.g. ack of a job that is not active). */
export class ConflictError extends errorKind("ConflictError", "conflict") {}

/** The queue is paused and refuses the operation for now. */
export class QueuePausedError extends errorKind("QueuePausedError", "queue_paused") {}

/** The server (or the queue) asked the caller to slow down. */
export class RateLimitedError extends errorKind("RateLimitedError", "rate_limited", true) {
  /** How long the server asked the caller to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, init: OjsErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, init);
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** The call carried no credentials, or ones the server does not accept. */
export class AuthenticationError extends errorKind("AuthenticationError", "unauthenticated") {}

/** The credentials are good but their role may not do this. */
export class PermissionDeniedError extends errorKind("PermissionDeniedError", "permission_denied") {}

/** The call did not finish within its time limit. The operation may still have happened. */
export class TimeoutError extends errorKind("TimeoutError", "timeout", true) {}

/** The server could not be reached or the connection broke. */
export class ConnectionError extends errorKind("ConnectionError", "unavailable", true) {}

/** The server does not offer this operation (e.g. below the needed conformance level). */
export class UnimplementedError extends errorKind("UnimplementedError", "unimplemented", false) {}

/** The server failed (or sent a code this SDK does not know). */
export class ServerError extends errorKind("ServerError", "backend_error") {}

/** The call was aborted through its AbortSignal. */
export class AbortError extends errorKind("AbortError", "cancelled", false) {
  constructor(message = "the operation was aborted", init: OjsErrorOptions = {}) {
    super(message, init);
  }
}

type ErrorClass = new (message: string, init: OjsErrorOptions & { retryAfterMs?: number }) => OjsError;

/** The class each code a server may send is raised as; any other code is a ServerError. */
const RAISED_AS: ReadonlyArray<readonly [ErrorClass, readonly string[]]> = [
  [
    ValidationError,
    ["invalid_request", "invalid_payload", "schema_validation", "validation_error", "invalid_workflow", "payload_too_large", "unsupported_media_type"],
  ],
  [NotFoundError, ["not_found"]],
  [DuplicateJobError, ["duplicate"]],
  [ConflictError, ["conflict", "invalid_state"]],
  [QueuePausedError, ["queue_paused"]],
  [RateLimitedError, ["rate_limited", "queue_full"]],
  [AuthenticationError, ["unauthenticated"]],
  [PermissionDeniedError, ["permission_denied"]],
  [TimeoutError, ["timeout"]],
  [ConnectionError, ["unavailable"]],
  [UnimplementedError, ["unimplemented", "unsupported", "method_not_allowed"]],
  [AbortError, ["cancelled"]],
];
const CLASS_OF_CODE = new Map<string, ErrorClass>(RAISED_AS.flatMap(([cls, codes]) => codes.map((code) => [code, cls] as const)));

/** Builds the right subclass for an OJS error code received from a server. */
export function errorFromCode(code: string, message: string, init: Omit<OjsErrorInit, "code"> & { retryAfterMs?: number } = {}): OjsError {
  const Class = CLASS_OF_CODE.get(code) ?? ServerError;
  return new Class(message, { ...init, code });
}
