/**
 * What a Worker says through its `logger` option, built on its public events so
 * the worker itself only emits: connection episodes (lost once, again every
 * minute while it lasts, regained), each failed job attempt, each settle that
 * did not get through, and errors outside any job.
 */
import { CONNECTION_OPTION_KEYS } from "../transport/connection.js";
import { ConnectionWatch } from "../util/connection-watch.js";
import { errorText, type Logger } from "../util/logger.js";
import type { KeyList } from "../util/options.js";
import { ShutdownError } from "./errors.js";
import type { Emitter } from "../util/emitter.js";
import type { WorkerEvents } from "./events.js";
import type { WorkerOptions } from "./options.js";

/** Every WorkerOptions key, for the unknown-key check of the constructor. */
export const WORKER_OPTION_KEYS: KeyList<WorkerOptions> = {
  ...CONNECTION_OPTION_KEYS,
  queues: true,
  hardDeadlineMs: true,
  stallFallback: true,
  codecs: true,
  concurrency: true,
  workerId: true,
  visibilityTimeoutMs: true,
  heartbeatIntervalMs: true,
  settleRetryMs: true,
  gracePeriodMs: true,
  pollIntervalMs: true,
  dispatch: true,
  handleSignals: true,
  watchdogIntervalMs: true,
  longPollMs: true,
  abortGraceMs: true,
};

/** Contexts of the worker's "error" event that are calls to the server, i.e. say whether it is reachable. */
const CONNECTION_CONTEXTS = new Set(["fetch", "heartbeat"]);

export function attachWorkerLogger(worker: Pick<Emitter<WorkerEvents>, "on">, logger: Logger, who: string, repeatMs?: number): void {
  const link = new ConnectionWatch(logger, who, repeatMs);
  // A heartbeat that got through means the server is back. (Not job events: a listener on
  // those would cost every job something, and a heartbeat comes within seconds anyway.)
  worker.on("heartbeat", () => link.ok());
  worker.on("stream.reconnect", ({ error }) => link.failed(error));
  worker.on("error", ({ error, context }) => {
    if (CONNECTION_CONTEXTS.has(context)) link.failed(error);
    else logger.error(`${who}: ${context} failed: ${errorText(error)}`, { error, context });
  });
  // Jobs failed by a shutdown are one line at the end, not one each.
  let shutDown = 0;
  worker.on("stopped", () => {
    if (shutDown > 0)
      logger.warn(`${who}: stopped with ${shutDown} job${shutDown === 1 ? "" : "s"} still running past the grace period; handed back to the server for retry`);
    shutDown = 0;
  });
  worker.on("job.failed", ({ job, error, durationMs }) => {
    if (error instanceof ShutdownError) shutDown++;
    else
      logger.error(`${who}: job ${job.id} (${job.type}, attempt ${job.attempt}) failed after ${durationMs} ms: ${errorText(error)}`, {
        jobId: job.id,
        type: job.type,
        attempt: job.attempt,
        error,
      });
  });
  // Streaming given up for polling (a server without StreamJobs, or a stream that keeps stalling): once each time.
  worker.on("dispatch.fallback", ({ reason }) => logger.warn(`${who}: ${reason}`));
  worker.on("job.settleFailed", ({ job, outcome, error }) =>
    logger.warn(`${who}: could not ${outcome} job ${job.id} (${errorText(error)}); the server hands it out again after its visibility timeout`, {
      jobId: job.id,
      outcome,
      error,
    }),
  );
}
