/**
 * The one interface the scenarios measure through, so that OJS over gRPC, OJS
 * over HTTP and BullMQ run exactly the same code.
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
  if (spec.driver === "bullmq") return (await import("./bullmq.js")).bullmqDriver(spec.target, spec.queue);
  // grpc-standard differs in its server only: the same client, which finds no fast path there.
  return (await import("./ojs.js")).ojsDriver(spec.target, spec.driver === "grpc-standard" ? "grpc" : spec.driver, spec.queue);
}
