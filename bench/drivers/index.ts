/**
 * The one interface the scenarios measure through, so that OJS (over gRPC or
 * HTTP, on any store), BullMQ, graphile-worker and pg-boss run exactly the
 * same code.
 */
import type { ChildSpec } from "../common.js";

export type Args = ReturnType<typeof import("../common.js").payload>;

export interface WorkerHooks {
  concurrency: number;
  /** Called first thing in the handler. */
  onStart(args: Args): void;
  /** Called once the job is settled on the backend (acknowledged). */
  onCompleted(): void;
}

export interface Driver {
  enqueue(args: Args): Promise<unknown>;
  enqueueBatch(list: Args[]): Promise<unknown>;
  startWorker(hooks: WorkerHooks): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

export async function openDriver(spec: ChildSpec): Promise<Driver> {
  switch (spec.driver) {
    case "bullmq":
    case "bullmq-aof":
      return (await import("./bullmq.js")).bullmqDriver(spec.target, spec.queue);
    case "graphile-worker":
      return (await import("./graphile.js")).graphileDriver(spec.target, spec.queue);
    case "pg-boss":
      return (await import("./pgboss.js")).pgBossDriver(spec.target, spec.queue);
    case "http":
      return (await import("./ojs.js")).ojsDriver(spec.target, "http", spec.queue);
    case "connect-node":
      return (await import("./connect-node.js")).connectNodeDriver(spec.target, spec.queue);
    default:
      // grpc-standard and the durable stores differ in their server only: the same gRPC client.
      return (await import("./ojs.js")).ojsDriver(spec.target, "grpc", spec.queue);
  }
}
