/**
 * The admin-api operations for the gRPC transport. The ojs.v1 contract has
 * RPCs for pausing and resuming a queue and for reading and cancelling a job;
 * those go over gRPC. It has none for per-state counts, job search, bulk
 * actions, workers or statistics: those reach the HTTP binding (the
 * transport's `httpUrl`, since official servers serve HTTP on another port).
 * RetryDeadLetter covers dead-lettered jobs only; the admin retry also takes
 * other discarded ones, so it goes over HTTP too.
 */
import type { AdminTransport } from "../admin.js";
import { forwardTo } from "../forward.js";
import type { Transport } from "../transport.js";

type Rpcs = Pick<Transport, "pauseQueue" | "resumeQueue" | "getJob" | "cancelJob">;

export function grpcAdmin(rpc: Rpcs, http: () => AdminTransport): AdminTransport {
  return {
    ...forwardTo(http, [
      "listQueues",
      "getQueue",
      "purgeQueue",
      "setQueueRetention",
      "listJobs",
      "retryJob",
      "deleteJob",
      "bulk",
      "purgeDeadLetter",
      "listWorkers",
      "getWorker",
      "directWorker",
      "stats",
      "statsHistory",
    ]),
    pauseQueue: (name, call) => rpc.pauseQueue(name, call),
    resumeQueue: (name, call) => rpc.resumeQueue(name, call),
    getJob: (id, call) => rpc.getJob(id, call),
    cancelJob: (id, call) => rpc.cancelJob(id, call),
  };
}
