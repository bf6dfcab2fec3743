/**
 * One call of each operation of the table (src/transport/operations.ts), with
 * placeholder arguments: ID, QUEUE, NAME, TYPE, VERSION fill its path.
 */
import type { NormalizedJobRequest } from "../../src/model/job.js";
import type { OperationName } from "../../src/transport/operations.js";
import type { Transport } from "../../src/transport/transport.js";

/** A transport with every operation of the table (the optional checkpoint ones included). */
export type TableTransport = Transport & Required<Pick<Transport, OperationName>>;

const job = { type: "t", args: [] } as unknown as NormalizedJobRequest;

/** One call per operation, with the placeholders of its path filled as below. */
export const CALLS: Record<OperationName, (t: TableTransport) => Promise<unknown>> = {
  manifest: (t) => t.manifest(),
  health: (t) => t.health(),
  enqueue: (t) => t.enqueue(job),
  enqueueBatch: (t) => t.enqueueBatch([job]),
  getJob: (t) => t.getJob("ID"),
  cancelJob: (t) => t.cancelJob("ID"),
  createWorkflow: (t) => t.createWorkflow({ name: "w", steps: [] } as never),
  getWorkflow: (t) => t.getWorkflow("ID"),
  cancelWorkflow: (t) => t.cancelWorkflow("ID"),
  listQueues: (t) => t.listQueues(),
  queueStats: (t) => t.queueStats("QUEUE"),
  pauseQueue: (t) => t.pauseQueue("QUEUE"),
  resumeQueue: (t) => t.resumeQueue("QUEUE"),
  listDeadLetter: (t) => t.listDeadLetter(),
  retryDeadLetter: (t) => t.retryDeadLetter("ID"),
  deleteDeadLetter: (t) => t.deleteDeadLetter("ID"),
  registerCron: (t) => t.registerCron({ name: "NAME", cron: "* * * * *", type: "t", args: [], options: {} }),
  unregisterCron: (t) => t.unregisterCron("NAME"),
  listCron: (t) => t.listCron(),
  listSchemas: (t) => t.listSchemas(),
  registerSchema: (t) => t.registerSchema({ type: "TYPE", version: 1, schema: {} }),
  getSchema: (t) => t.getSchema("TYPE"),
  deleteSchema: (t) => t.deleteSchema("TYPE", "VERSION"),
  fetch: (t) => t.fetch({ queues: ["QUEUE"], count: 1, workerId: "W" }),
  ack: (t) => t.ack({ jobId: "ID" }),
  nack: (t) => t.nack({ jobId: "ID", error: { code: "c", message: "m" } } as never),
  heartbeat: (t) => t.heartbeat({ workerId: "W", state: "running", activeJobIds: [] }),
  reportProgress: (t) => t.reportProgress("ID", { progress: 0.5 }),
  getProgress: (t) => t.getProgress("ID"),
  saveCheckpoint: (t) => t.saveCheckpoint("ID", { step: 1 }),
  getCheckpoint: (t) => t.getCheckpoint("ID"),
  deleteCheckpoint: (t) => t.deleteCheckpoint("ID"),
};
