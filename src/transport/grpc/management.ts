/**
 * The ojs.v1 management RPCs of the gRPC transport: queues, the dead letter
 * queue, cron and workflows. Plain unary calls, none on the fast path; the
 * transport lends each its call wrapper (errors, refused-stream retries) and
 * its call options (headers, deadline).
 */
import type { Client as RpcClient } from "@connectrpc/connect";
import type { OJSService } from "../../../gen/ojs/v1/service_pb.js";
import { jobFromProto, optionsToProto, workflowFromProto } from "../../codec/proto.js";
import { dateFromTimestamp, valueFromJson } from "../../codec/values.js";
import { cronFromProto, queueInfoFromProto, queueStatsFromProto } from "../../codec/admin.js";
import { dagToProto, flattenWorkflow } from "../../codec/workflow.js";
import type { Job } from "../../model/job.js";
import type { CronJob, Page, QueueInfo, QueueStats } from "../../model/system.js";
import type { Workflow, WorkflowDefinition } from "../../model/workflow.js";
import type { CallOptions, CronRequest, PageRequest } from "../transport.js";
import { checkStandard, type GrpcCallOptions } from "./calls.js";
import type { ServerKind } from "./server-kind.js";

/** What the management calls borrow from their transport. */
export interface GrpcCallContext {
  readonly rpc: RpcClient<typeof OJSService>;
  /** Runs one call: a refused stream is sent again, errors become OjsErrors. */
  call<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** The connection's headers and deadline with the call's own; throws once the transport is closed. */
  callOptions(opts: CallOptions | undefined, extra?: Record<string, string>): GrpcCallOptions;
  /** What the server is (asked once). */
  server(): Promise<ServerKind>;
}

export class GrpcManagementCalls {
  constructor(private readonly c: GrpcCallContext) {}

  // --- queues -----------------------------------------------------------------------------

  listQueues(page: PageRequest = {}, opts?: CallOptions): Promise<Page<QueueInfo>> {
    return this.c.call(
      "listQueues",
      async () => {
        const r = await this.c.rpc.listQueues({ limit: page.limit ?? 0, cursor: page.cursor ?? "" }, this.c.callOptions(opts));
        const out: Page<QueueInfo> = { items: r.queues.map(queueInfoFromProto) };
        if (r.nextCursor) out.nextCursor = r.nextCursor;
        return out;
      },
      opts?.signal,
    );
  }

  queueStats(queue: string, opts?: CallOptions): Promise<QueueStats> {
    return this.c.call(
      "queueStats",
      async () => {
        const r = await this.c.rpc.queueStats({ queue }, this.c.callOptions(opts));
        return queueStatsFromProto(r.queue || queue, r.stats);
      },
      opts?.signal,
    );
  }

  pauseQueue(queue: string, opts?: CallOptions): Promise<void> {
    return this.c.call("pauseQueue", async () => void (await this.c.rpc.pauseQueue({ queue }, this.c.callOptions(opts))), opts?.signal);
  }

  resumeQueue(queue: string, opts?: CallOptions): Promise<void> {
    return this.c.call("resumeQueue", async () => void (await this.c.rpc.resumeQueue({ queue }, this.c.callOptions(opts))), opts?.signal);
  }

  // --- dead letter -------------------------------------------------------------------------

  listDeadLetter(req: PageRequest & { queue?: string } = {}, opts?: CallOptions): Promise<Page<Job>> {
    return this.c.call(
      "listDeadLetter",
      async () => {
        const r = await this.c.rpc.listDeadLetter({ queue: req.queue ?? "", limit: req.limit ?? 0, cursor: req.cursor ?? "" }, this.c.callOptions(opts));
        const out: Page<Job> = { items: r.jobs.map(jobFromProto), totalCount: Number(r.totalCount) };
        if (r.nextCursor) out.nextCursor = r.nextCursor;
        return out;
      },
      opts?.signal,
    );
  }

  retryDeadLetter(id: string, opts?: CallOptions): Promise<Job> {
    return this.c.call(
      "retryDeadLetter",
      async () => jobFromProto((await this.c.rpc.retryDeadLetter({ jobId: id }, this.c.callOptions(opts))).job!),
      opts?.signal,
    );
  }

  deleteDeadLetter(id: string, opts?: CallOptions): Promise<void> {
    return this.c.call("deleteDeadLetter", async () => void (await this.c.rpc.deleteDeadLetter({ jobId: id }, this.c.callOptions(opts))), opts?.signal);
  }

  // --- cron --------------------------------------------------------------------------------

  registerCron(req: CronRequest, opts?: CallOptions): Promise<{ name: string; nextRunAt?: Date }> {
    return this.c.call(
      "registerCron",
      async () => {
        const { ours } = await this.c.server();
        const r = await this.c.rpc.registerCron(
          {
            name: req.name,
            cron: req.cron,
            timezone: req.timezone ?? "",
            type: req.type,
            args: req.args.map(valueFromJson),
            options: optionsToProto(req.options, Date.now(), ours),
          },
          this.c.callOptions(opts),
        );
        return r.nextRunAt ? { name: r.name || req.name, nextRunAt: dateFromTimestamp(r.nextRunAt) } : { name: r.name || req.name };
      },
      opts?.signal,
    );
  }

  unregisterCron(name: string, opts?: CallOptions): Promise<void> {
    return this.c.call("unregisterCron", async () => void (await this.c.rpc.unregisterCron({ name }, this.c.callOptions(opts))), opts?.signal);
  }

  listCron(opts?: CallOptions): Promise<CronJob[]> {
    return this.c.call("listCron", async () => (await this.c.rpc.listCron({}, this.c.callOptions(opts))).entries.map(cronFromProto), opts?.signal);
  }

  // --- workflows ------------------------------------------------------------------------------

  createWorkflow(def: WorkflowDefinition, opts?: CallOptions): Promise<Workflow> {
    return this.c.call(
      "createWorkflow",
      async () => {
        const flat = flattenWorkflow(def);
        const { ours } = await this.c.server();
        if (!ours) for (const step of flat.steps) checkStandard(step.request, "createWorkflow");
        const r = await this.c.rpc.createWorkflow(dagToProto(flat.name, flat.steps, Date.now(), ours), this.c.callOptions(opts));
        return workflowFromProto(r.workflow!);
      },
      opts?.signal,
    );
  }

  getWorkflow(id: string, opts?: CallOptions): Promise<Workflow> {
    return this.c.call(
      "getWorkflow",
      async () => workflowFromProto((await this.c.rpc.getWorkflow({ workflowId: id }, this.c.callOptions(opts))).workflow!),
      opts?.signal,
    );
  }

  cancelWorkflow(id: string, opts?: CallOptions): Promise<Workflow> {
    return this.c.call(
      "cancelWorkflow",
      async () => workflowFromProto((await this.c.rpc.cancelWorkflow({ workflowId: id }, this.c.callOptions(opts))).workflow!),
      opts?.signal,
    );
  }
}
