/**
 * Running one job in process, the way a worker would but without its
 * dispatch: a Worker's own handlers and middleware (through its internal
 * hook), or a plain map of handlers.
 */
import type { Job } from "../model/job.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import type { ProgressUpdate } from "../transport/transport.js";
import { kRunJob } from "../worker/internal.js";
import { normalizeProgress } from "../worker/progress.js";
import { AttemptCheckpoint } from "../worker/checkpoint.js";
import type { Transport } from "../transport/transport.js";
import type { Handler, HandlerResult, JobContext } from "../worker/types.js";
import { Worker } from "../worker/worker.js";

/** Handlers by job type, for tests that do not build a Worker. No middleware runs. */
export type HandlerMap = Readonly<Record<string, Handler<JsonValue[]>>>;

/** What runs jobs in a fake: a Worker (its handlers and middleware) or a handler map. */
export type Handlers = Worker | HandlerMap;

export interface RunHooks {
  signal: AbortSignal;
  workerId: string;
  progress(update: ProgressUpdate): void;
  heartbeat(): Promise<void>;
  /** Where ctx.checkpoint() and ctx.lastCheckpoint() go (the fake's own server). */
  transport: Transport;
}

export function workerIdOf(h: Handlers, fallback: string): string {
  return h instanceof Worker ? h.workerId : fallback;
}

/** The handler's result, or the error the attempt failed with (an abort's reason when the handler stopped on its signal). */
export async function runHandler(h: Handlers, job: Job, hooks: RunHooks): Promise<HandlerResult> {
  const progress = (value: number | JsonObject) => hooks.progress(normalizeProgress(value));
  if (h instanceof Worker)
    return h[kRunJob](job, { signal: hooks.signal, context: { progress, heartbeat: hooks.heartbeat }, checkpointTransport: hooks.transport });

  const handler = Object.prototype.hasOwnProperty.call(h, job.type) ? h[job.type] : undefined;
  // The same failure a Worker reports: retryable, since another worker may know the type.
  if (!handler) throw Object.assign(new Error(`no handler registered for job type "${job.type}" in the fake's handler map`), { code: "handler_not_found" });
  const abort = new AbortController();
  if (hooks.signal.aborted) abort.abort(hooks.signal.reason);
  else hooks.signal.addEventListener("abort", () => abort.abort(hooks.signal.reason), { once: true });
  let cp: AttemptCheckpoint | undefined;
  const ctx: JobContext<JsonValue[]> = {
    job,
    jobId: job.id,
    type: job.type,
    args: job.args,
    meta: job.meta,
    attempt: job.attempt,
    queue: job.queue,
    workerId: hooks.workerId,
    parentResults: job.parentResults ?? {},
    workflowId: job.workflowId,
    signal: abort.signal,
    state: new Map(),
    progress,
    checkpoint: (state) => (cp ??= new AttemptCheckpoint(hooks.transport, job, hooks.workerId, undefined)).save(state),
    lastCheckpoint: () => (cp ??= new AttemptCheckpoint(hooks.transport, job, hooks.workerId, undefined)).last() as Promise<JsonValue | undefined>,
    heartbeat: hooks.heartbeat,
    abort: (reason?: unknown) => {
      if (!abort.signal.aborted) abort.abort(reason instanceof Error ? reason : new Error(reason === undefined ? "aborted by the handler" : String(reason)));
    },
  };
  try {
    return await handler(ctx);
  } catch (error) {
    const reason = abort.signal.aborted ? (abort.signal.reason as unknown) : undefined;
    throw reason instanceof Error ? reason : error;
  }
}
