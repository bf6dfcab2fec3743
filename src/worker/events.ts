import type { Job } from "../model/job.js";
import type { WorkerDirective } from "../model/system.js";
import type { AbandonedReport } from "./hard-deadline.js";
import type { HandlerResult } from "./types.js";

/** Lifecycle of a worker: idle -> running <-> quiet -> terminate -> terminated. */
export type WorkerState = "idle" | "running" | "quiet" | "terminate" | "terminated";

/** Events a Worker emits (worker.on(name, listener)); a listener that throws is reported as `error`, never fails a job. */
export interface WorkerEvents {
  started: { workerId: string };
  quiet: { workerId: string };
  running: { workerId: string };
  stopping: { workerId: string; active: number };
  stopped: { workerId: string };
  "job.started": { job: Job };
  "job.completed": { job: Job; result: HandlerResult; durationMs: number };
  "job.failed": { job: Job; error: unknown; durationMs: number };
  /** The server no longer holds the job for this worker (cancelled, or its reservation was lost): its signal was aborted. */
  "job.cancelled": { job: Job };
  /**
   * A job received but never started was handed back because the worker is stopping (a nack with
   * requeue): another worker can take it at once, its attempt not counted where the server allows.
   */
  "job.released": { job: Job; reason: "shutdown" };
  /** The server did not take an ack or nack even after retries; the job comes back through its visibility timeout. */
  "job.settleFailed": { job: Job; outcome: "ack" | "nack"; error: unknown };
  "stream.reconnect": { attempt: number; delayMs: number; error: unknown };
  /** Polling instead of streaming: for good (no StreamJobs), or for `pollForMs` after repeated stalls. */
  "dispatch.fallback": { from: "stream"; to: "poll"; reason: string; stalls?: number; pollForMs?: number };
  /** The server took a heartbeat: the connection works. */
  heartbeat: { directive: WorkerDirective | undefined };
  /** Handlers still running when the shutdown ended: their jobs were handed back (or left to their leases) and the worker no longer waits for them. */
  abandoned: AbandonedReport;
  /** Something went wrong outside any one job (heartbeat, fetch, a listener). The worker keeps going. */
  error: { error: unknown; context: string };
}

/** How the Worker's parts report an event through it. */
export type EmitWorkerEvent = <K extends keyof WorkerEvents>(event: K, payload: WorkerEvents[K]) => void;
