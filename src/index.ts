/**
 * ojs-connect: a protobuf-first Open Job Spec SDK. One Client and one Worker,
 * over gRPC (default) or the HTTP/JSON binding.
 */
export { Client, JobDroppedError, type ClientOptions, type EnqueueMiddleware, type BatchJob } from "./client/client.js";
export { chain, group, batch, step, type Step } from "./client/workflow.js";
export type { RetryOptions } from "./client/retry.js";
export type { EventsOptions } from "./client/events.js";
export type { WaitForJobOptions } from "./client/wait.js";
export type { Logger, LoggerOption } from "./util/logger.js";
export type { ConnectionOptions } from "./transport/connection.js";
export { Worker, type WorkerOptions, type WorkerState, type WorkerEvents } from "./worker/worker.js";
export type { AbandonedReport, AbandonReason } from "./worker/hard-deadline.js";
export type { StallFallbackOptions } from "./worker/stall-policy.js";
export type { Handler, HandlerResult, JobContext, Middleware } from "./worker/types.js";
export {
  NonRetryableError,
  JobTimeoutError,
  ShutdownError,
  JobCancelledError,
  HandlerNotFoundError,
  JobAbortedError,
  MiddlewareError,
} from "./worker/errors.js";
export {
  AesGcmCodec,
  CodecChain,
  CodecError,
  GzipCodec,
  isEncodedPayload,
  CODEC_META_PREFIX,
  ENCODING_ENCRYPTED,
  ENCODING_GZIP,
  META_ENCODINGS,
  META_KEY_ID,
  META_UNIQUE_ARGS,
  type AesGcmCodecOptions,
  type CodecErrorCode,
  type CodecOutput,
  type EncodedPayload,
  type GzipCodecOptions,
  type PayloadCodec,
} from "./codec/payload/index.js";
export {
  createCodecServer,
  ENCODING_JSON,
  type CodecServer,
  type CodecServerAuth,
  type CodecServerOptions,
  type CodecServerPayload,
  type CodecServerResultPayload,
} from "./codec-server/index.js";

export {
  AbortError,
  AuthenticationError,
  ConflictError,
  ConnectionError,
  DuplicateJobError,
  NotFoundError,
  OjsError,
  PermissionDeniedError,
  QueuePausedError,
  RateLimitedError,
  ServerError,
  TimeoutError,
  UnimplementedError,
  ValidationError,
  type OjsErrorCode,
  type OjsErrorInit,
  type OjsErrorKind,
  type OjsErrorOptions,
} from "./model/errors.js";
export type {
  EnqueueOptions,
  Job,
  JobError,
  JobRequest,
  JobState,
  OnExhaustion,
  RetryPolicy,
  RetryPolicyInput,
  UniqueConflict,
  UniquePolicy,
  UniquePolicyInput,
} from "./model/job.js";
export { JOB_STATES, TERMINAL_STATES } from "./model/job.js";
export type { JsonObject, JsonValue } from "./model/json.js";
export { DEFAULT_LIMITS, type Limits } from "./model/limits.js";
export type { Duration } from "./model/duration.js";
export type { OnLimit, RateLimitInput, RateLimitPolicy } from "./model/rate-limit.js";
export type {
  CronJob,
  CronRegistration,
  Health,
  HealthStatus,
  Manifest,
  Page,
  ProgressInfo,
  QueueInfo,
  QueueStats,
  SchemaInfo,
  WorkerDirective,
} from "./model/system.js";
export type { OjsEvent, EventFilter } from "./model/events.js";
export { AdminClient } from "./client/admin.js";
export { CheckpointClient } from "./client/checkpoints.js";
export type { QueueRetention, RetentionRule } from "./model/retention.js";
export { MAX_CHECKPOINT_BYTES, type Checkpoint, type CheckpointSaved, type JobCheckpoint } from "./model/checkpoint.js";
export type * from "./model/admin.js";
export type { AdminTransport } from "./transport/admin.js";
export { WebhooksClient } from "./client/webhooks.js";
export type * from "./model/webhooks.js";
export type { WebhookTransport } from "./transport/webhooks.js";
export { signWebhook, verifyWebhookSignature, type WebhookSignatureInput } from "./util/webhook-signature.js";
export type { StepDefinition, Workflow, WorkflowDefinition, WorkflowState, WorkflowStepState, WorkflowStepStatus } from "./model/workflow.js";

export { grpcTransport, httpTransport, GrpcTransport, HttpTransport } from "./transport/index.js";
export type { Transport, CallOptions } from "./transport/transport.js";
export type { TransportOptions } from "./transport/options.js";

/** The OJS specification version this SDK implements. */
export const specVersion = "1.0";
