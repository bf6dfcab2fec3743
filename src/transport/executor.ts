/**
 * The named methods of a transport, made from the operation table
 * (./operations.ts): each `transport.getJob(id, opts)` is
 * `this.unary("getJob", [id, opts])`, and a transport implements that one
 * generic call for its binding (HttpTransport, GrpcTransport). A transport
 * overrides only the methods it writes out by hand (the gRPC hot paths).
 *
 * One line per row: `implements` below fails to compile while a row has none,
 * and test/unit/operations.test.ts fails while a line has no row.
 */
import type { Transport } from "./transport.js";
import { OPERATIONS, type OperationName } from "./operations.js";
import type { ArgsOf, ResultOf } from "./operation-spec.js";
import type { CallOptions } from "./call-options.js";

/** The call options among an operation's arguments (they follow its `args` arguments). */
export function callOptionsOf(op: OperationName, args: readonly unknown[]): CallOptions | undefined {
  return args[OPERATIONS[op].args] as CallOptions | undefined;
}

export abstract class OperationMethods implements Required<Pick<Transport, OperationName>> {
  /** Runs `op` with the arguments its Transport method was called with, call options last. */
  protected abstract unary(op: OperationName, args: unknown[]): Promise<unknown>;

  private run<K extends OperationName>(op: K, args: ArgsOf<K>): Promise<ResultOf<K>> {
    return this.unary(op, args) as Promise<ResultOf<K>>;
  }

  manifest(...a: ArgsOf<"manifest">): Promise<ResultOf<"manifest">> {
    return this.run("manifest", a);
  }
  health(...a: ArgsOf<"health">): Promise<ResultOf<"health">> {
    return this.run("health", a);
  }
  enqueue(...a: ArgsOf<"enqueue">): Promise<ResultOf<"enqueue">> {
    return this.run("enqueue", a);
  }
  enqueueBatch(...a: ArgsOf<"enqueueBatch">): Promise<ResultOf<"enqueueBatch">> {
    return this.run("enqueueBatch", a);
  }
  getJob(...a: ArgsOf<"getJob">): Promise<ResultOf<"getJob">> {
    return this.run("getJob", a);
  }
  cancelJob(...a: ArgsOf<"cancelJob">): Promise<ResultOf<"cancelJob">> {
    return this.run("cancelJob", a);
  }
  fetch(...a: ArgsOf<"fetch">): Promise<ResultOf<"fetch">> {
    return this.run("fetch", a);
  }
  ack(...a: ArgsOf<"ack">): Promise<ResultOf<"ack">> {
    return this.run("ack", a);
  }
  nack(...a: ArgsOf<"nack">): Promise<ResultOf<"nack">> {
    return this.run("nack", a);
  }
  heartbeat(...a: ArgsOf<"heartbeat">): Promise<ResultOf<"heartbeat">> {
    return this.run("heartbeat", a);
  }
  createWorkflow(...a: ArgsOf<"createWorkflow">): Promise<ResultOf<"createWorkflow">> {
    return this.run("createWorkflow", a);
  }
  getWorkflow(...a: ArgsOf<"getWorkflow">): Promise<ResultOf<"getWorkflow">> {
    return this.run("getWorkflow", a);
  }
  cancelWorkflow(...a: ArgsOf<"cancelWorkflow">): Promise<ResultOf<"cancelWorkflow">> {
    return this.run("cancelWorkflow", a);
  }
  listQueues(...a: ArgsOf<"listQueues">): Promise<ResultOf<"listQueues">> {
    return this.run("listQueues", a);
  }
  queueStats(...a: ArgsOf<"queueStats">): Promise<ResultOf<"queueStats">> {
    return this.run("queueStats", a);
  }
  pauseQueue(...a: ArgsOf<"pauseQueue">): Promise<ResultOf<"pauseQueue">> {
    return this.run("pauseQueue", a);
  }
  resumeQueue(...a: ArgsOf<"resumeQueue">): Promise<ResultOf<"resumeQueue">> {
    return this.run("resumeQueue", a);
  }
  listDeadLetter(...a: ArgsOf<"listDeadLetter">): Promise<ResultOf<"listDeadLetter">> {
    return this.run("listDeadLetter", a);
  }
  retryDeadLetter(...a: ArgsOf<"retryDeadLetter">): Promise<ResultOf<"retryDeadLetter">> {
    return this.run("retryDeadLetter", a);
  }
  deleteDeadLetter(...a: ArgsOf<"deleteDeadLetter">): Promise<ResultOf<"deleteDeadLetter">> {
    return this.run("deleteDeadLetter", a);
  }
  registerCron(...a: ArgsOf<"registerCron">): Promise<ResultOf<"registerCron">> {
    return this.run("registerCron", a);
  }
  unregisterCron(...a: ArgsOf<"unregisterCron">): Promise<ResultOf<"unregisterCron">> {
    return this.run("unregisterCron", a);
  }
  listCron(...a: ArgsOf<"listCron">): Promise<ResultOf<"listCron">> {
    return this.run("listCron", a);
  }
  listSchemas(...a: ArgsOf<"listSchemas">): Promise<ResultOf<"listSchemas">> {
    return this.run("listSchemas", a);
  }
  registerSchema(...a: ArgsOf<"registerSchema">): Promise<ResultOf<"registerSchema">> {
    return this.run("registerSchema", a);
  }
  getSchema(...a: ArgsOf<"getSchema">): Promise<ResultOf<"getSchema">> {
    return this.run("getSchema", a);
  }
  deleteSchema(...a: ArgsOf<"deleteSchema">): Promise<ResultOf<"deleteSchema">> {
    return this.run("deleteSchema", a);
  }
  reportProgress(...a: ArgsOf<"reportProgress">): Promise<ResultOf<"reportProgress">> {
    return this.run("reportProgress", a);
  }
  getProgress(...a: ArgsOf<"getProgress">): Promise<ResultOf<"getProgress">> {
    return this.run("getProgress", a);
  }
  saveCheckpoint(...a: ArgsOf<"saveCheckpoint">): Promise<ResultOf<"saveCheckpoint">> {
    return this.run("saveCheckpoint", a);
  }
  getCheckpoint(...a: ArgsOf<"getCheckpoint">): Promise<ResultOf<"getCheckpoint">> {
    return this.run("getCheckpoint", a);
  }
  deleteCheckpoint(...a: ArgsOf<"deleteCheckpoint">): Promise<ResultOf<"deleteCheckpoint">> {
    return this.run("deleteCheckpoint", a);
  }
}
