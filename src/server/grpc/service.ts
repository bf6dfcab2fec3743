/**
 * The ojs.v1.OJSService implementation over the store, for connect-node's
 * router (gRPC, gRPC-Web and Connect on the same routes). Every method is a
 * translation through src/codec; validation and enqueue go through the same
 * helpers as the HTTP binding (../shared.ts) so both protocols agree.
 */
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { OJSService } from "../../../gen/ojs/v1/service_pb.js";
import type { Job as PbJob } from "../../../gen/ojs/v1/job_pb.js";
import type { Event as PbEvent } from "../../../gen/ojs/v1/events_pb.js";
import { eventToProto, healthToProto, jobToProto, optionsFromProto, requestFromProto, workflowToProto, VISIBILITY_HEADER } from "../../codec/proto.js";
import { cronToProto, queueInfoToProto, queueStatsToProto } from "../../codec/admin.js";
import { dagFromProto } from "../../codec/workflow.js";
import { timestampFromDate } from "../../codec/values.js";
import { ValidationError } from "../../model/errors.js";
import type { OjsEvent } from "../../model/events.js";
import type { ServerCore } from "../core.js";
import { admitWorkflow, cronJobOf, queueInfoOf, queueStatsOf, revalidate } from "../shared.js";
import type { JobRecord } from "../store/records.js";
import { matchesFilter } from "../store/event-bus.js";
import { tenantFromHeaders } from "../tenancy/request.js";
import { checkVisible } from "../tenancy/jobs.js";
import { ackCall, enqueueCall, enqueueJobs, heartbeatCall, nackCall, endJobStream } from "./calls.js";
import { staleStreamError, toConnectError } from "./errors.js";
import { AsyncQueue } from "../../util/async-queue.js";

const EVENT_BUFFER = 1000;
const KEEPALIVE_MS = 30_000;

function requestId(ctx: HandlerContext): string | undefined {
  const id = ctx.requestHeader.get("x-ojs-request-id");
  if (id) ctx.responseHeader.set("x-ojs-request-id", id);
  return id ?? undefined;
}

function visibilityFrom(ctx: HandlerContext): number | undefined {
  const v = Number(ctx.requestHeader.get(VISIBILITY_HEADER));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function offsetCursor(cursor: string): number {
  const n = Number(cursor || 0);
  if (!Number.isInteger(n) || n < 0) throw new ValidationError("cursor: not a cursor this server issued", { issues: [{ path: "cursor", message: "invalid" }] });
  return n;
}

/** Methods answered without waiting for the journal: reads, and claims or leases a crash may only repeat. */
const NO_BARRIER = new Set([
  "Manifest",
  "Health",
  "GetJob",
  "ListQueues",
  "QueueStats",
  "ListDeadLetter",
  "ListCron",
  "GetWorkflow",
  "Fetch",
  "Heartbeat",
  "ListJobs",
  "ListWorkers",
]);

export function grpcRoutes(core: ServerCore): (router: ConnectRouter) => void {
  const store = core.jobs;
  const now = () => core.store.clock.now();
  const release = (rec: JobRecord) => void store.release(rec).catch((e: unknown) => core.fault(e, "release of a StreamJobs job"));
  const toPb = (rec: JobRecord): PbJob => jobToProto(rec.job);
  // Multi-tenancy: the x-ojs-tenant metadata (bound to the key by the access layer).
  const tenantOf = (ctx: HandlerContext): string | undefined => tenantFromHeaders(ctx.requestHeader);
  const tenantField = (ctx: HandlerContext): { tenant?: string } => {
    const t = tenantOf(ctx);
    return t === undefined ? {} : { tenant: t };
  };
  const visibleJob = async (id: string, ctx: HandlerContext): Promise<JobRecord> => {
    const rec = await store.get(id);
    checkVisible(id, rec.job.meta, tenantOf(ctx));
    return rec;
  };

  // Every unary method goes through this: errors become statuses with ErrorInfo,
  // and every response carries the server's version headers.
  function unary<I, O>(fn: (req: I, ctx: HandlerContext) => O | Promise<O>): (req: I, ctx: HandlerContext) => Promise<O> {
    return async (req, ctx) => {
      const rid = requestId(ctx);
      ctx.responseHeader.set("x-ojs-server-version", core.manifest().implementation.version);
      ctx.responseHeader.set("x-ojs-conformance-level", "4");
      try {
        const out = await fn(req, ctx);
        // Answered once durable (the journal store); reads and claims need not wait.
        if (!NO_BARRIER.has(ctx.method.name)) {
          const barrier = core.durable();
          if (barrier) await barrier;
        }
        core.count("grpc_ok");
        return out;
      } catch (e) {
        core.count("grpc_error");
        const err = toConnectError(e, rid);
        if (err.code === Code.Internal || err.code === Code.Unknown || err.code === Code.DataLoss) core.fault(e, `gRPC ${ctx.method.name} (request ${rid})`);
        throw err;
      }
    };
  }

  const impl: ServiceImpl<typeof OJSService> = {
    manifest: unary(() => {
      const m = core.manifest();
      return {
        ojsVersion: m.specversion,
        implementation: m.implementation,
        conformanceLevel: m.conformanceLevel,
        protocols: m.protocols,
        backend: m.backend,
        extensions: m.extensions,
        schemaValidation: m.schemaValidation ?? false,
      };
    }),

    health: unary(() => {
      const h = core.health();
      return { status: healthToProto(h.status), timestamp: timestampFromDate(h.timestamp ?? new Date()), details: h.details ?? {} };
    }),

    // --- jobs -----------------------------------------------------------------------

    enqueue: unary(async (req, ctx) => ({ job: await enqueueCall(core, req, tenantOf(ctx)) })),

    enqueueBatch: unary(async (req, ctx) => {
      const t = now();
      const jobs = await enqueueJobs(
        core,
        req.jobs.map((entry) => requestFromProto(entry.type, entry.args, entry.options, t)),
        optionsFromProto(req.defaultOptions, t),
        tenantOf(ctx),
      );
      return { jobs: jobs.map(jobToProto), count: jobs.length };
    }),

    getJob: unary(async (req, ctx) => ({ job: toPb(await visibleJob(req.jobId, ctx)) })),

    cancelJob: unary(async (req, ctx) => {
      await visibleJob(req.jobId, ctx);
      return { job: toPb(await store.cancel(req.jobId)) };
    }),

    // --- workers --------------------------------------------------------------------

    fetch: unary(async (req, ctx) => {
      const recs = await store.fetch({
        queues: req.queues.length ? req.queues : ["default"],
        count: req.count || 1,
        workerId: req.workerId || undefined,
        visibilityTimeoutMs: visibilityFrom(ctx),
        ...tenantField(ctx),
      });
      return { jobs: recs.map(toPb) };
    }),

    ack: unary(async (req, ctx) => {
      await ackCall(core, req, undefined, tenantOf(ctx));
      return { acknowledged: true };
    }),

    nack: unary((req, ctx) => nackCall(core, req, undefined, tenantOf(ctx))),

    heartbeat: unary((req) => heartbeatCall(core, req)),

    async *streamJobs(req, ctx) {
      requestId(ctx);
      const queue = new AsyncQueue<JobRecord>();
      let stale: "lease" | "superseded" | undefined;
      const consumer = await store.openConsumer({
        queues: req.queues.length ? req.queues : ["default"],
        workerId: req.workerId || "anonymous",
        maxConcurrent: req.maxConcurrent > 0 ? req.maxConcurrent : 1,
        visibilityTimeoutMs: visibilityFrom(ctx),
        ...tenantField(ctx),
        deliver: (rec) => queue.push(rec),
        onStale: (reason) => {
          core.count(`streams.stale.${reason}`);
          stale = reason;
          queue.end();
        },
      });
      const close = () => endJobStream(core, consumer);
      // The jobs still in the buffer go back first, as they are; closing the consumer then gives
      // back what was written but never started, if its worker said it is terminating.
      const onAbort = () => {
        for (const rec of queue.drain()) release(rec);
        close();
        queue.end();
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      // Cut while the store was registering the consumer.
      if (ctx.signal.aborted) onAbort();
      const stop = () => onAbort();
      core.streams.add(stop);
      try {
        for await (const rec of queue) {
          // The stream may have been cut between claim and write: hand such jobs back at once.
          if (ctx.signal.aborted) {
            release(rec);
            continue;
          }
          yield toPb(rec);
        }
        if (stale) throw toConnectError(staleStreamError(stale));
      } finally {
        core.streams.delete(stop);
        ctx.signal.removeEventListener("abort", onAbort);
        for (const rec of queue.drain()) release(rec);
        close();
      }
    },

    async *streamEvents(req, ctx) {
      requestId(ctx);
      const filter = {
        queues: req.queues,
        types: req.eventTypes,
        ...(req.jobId ? { jobId: req.jobId } : {}),
        ...(req.workflowId ? { workflowId: req.workflowId } : {}),
        ...tenantField(ctx),
      };
      // Best effort, as the binding allows: a consumer that falls behind loses the oldest events.
      const queue = new AsyncQueue<OjsEvent>(EVENT_BUFFER);
      const unsubscribe = core.store.events.subscribe((e) => {
        if (matchesFilter(e, filter)) queue.push(e);
      });
      const keepalive = setInterval(() => {
        queue.push({ id: `evt_keepalive_${Date.now()}`, type: "stream.keepalive", time: new Date(), data: {} });
      }, KEEPALIVE_MS);
      keepalive.unref();
      const onAbort = () => queue.end();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      core.streams.add(onAbort);
      try {
        for await (const e of queue) yield eventToProto(e) as PbEvent;
      } finally {
        core.streams.delete(onAbort);
        clearInterval(keepalive);
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },

    // --- queues -----------------------------------------------------------------------

    listQueues: unary(async (req) => {
      const all = await store.listQueues();
      const offset = offsetCursor(req.cursor);
      const limit = req.limit > 0 ? Math.min(req.limit, 1000) : 100;
      const page = all.slice(offset, offset + limit);
      return { queues: page.map((s) => queueInfoToProto(queueInfoOf(s))), nextCursor: offset + limit < all.length ? String(offset + limit) : "" };
    }),

    queueStats: unary(async (req) => {
      if (!req.queue) throw new ValidationError("queue: required", { issues: [{ path: "queue", message: "required" }] });
      return { queue: req.queue, stats: queueStatsToProto(queueStatsOf(await store.queueSummary(req.queue))) };
    }),

    pauseQueue: unary(async (req) => {
      if (!req.queue) throw new ValidationError("queue: required", { issues: [{ path: "queue", message: "required" }] });
      await store.pauseQueue(req.queue);
      return {};
    }),

    resumeQueue: unary(async (req) => {
      if (!req.queue) throw new ValidationError("queue: required", { issues: [{ path: "queue", message: "required" }] });
      await store.resumeQueue(req.queue);
      return {};
    }),

    // --- dead letter --------------------------------------------------------------------

    listDeadLetter: unary(async (req) => {
      const offset = offsetCursor(req.cursor);
      const limit = req.limit > 0 ? req.limit : 50;
      const page = await store.listDeadLetter({ ...(req.queue ? { queue: req.queue } : {}), offset, limit });
      const next = offset + page.jobs.length < page.total ? String(offset + page.jobs.length) : "";
      return { jobs: page.jobs.map(toPb), totalCount: BigInt(page.total), nextCursor: next };
    }),

    retryDeadLetter: unary(async (req) => ({ job: toPb(await store.retryDeadLetter(req.jobId)) })),

    deleteDeadLetter: unary(async (req) => {
      await store.deleteDeadLetter(req.jobId);
      return {};
    }),

    // --- cron ---------------------------------------------------------------------------

    registerCron: unary((req) => {
      const t = now();
      const template = revalidate(requestFromProto(req.type, req.args, req.options, t), t, core.limits);
      const { entry } = core.cron.register({ name: req.name, expression: req.cron, ...(req.timezone ? { timezone: req.timezone } : {}), template });
      const res: { name: string; nextRunAt?: ReturnType<typeof timestampFromDate> } = { name: entry.name };
      if (entry.nextRunAt) res.nextRunAt = timestampFromDate(entry.nextRunAt);
      return res;
    }),

    unregisterCron: unary((req) => {
      core.cron.unregister(req.name);
      return {};
    }),

    listCron: unary(() => ({ entries: core.cron.list().map((e) => cronToProto(cronJobOf(e))) })),

    // --- workflows ------------------------------------------------------------------------

    createWorkflow: unary(async (req) => {
      const t = now();
      const dag = dagFromProto(req, t);
      const steps = dag.steps.map((s, i) => {
        try {
          const { type, args, ...request } = revalidate({ type: s.type, args: s.args, ...s.request }, t, core.limits);
          return { ...s, type, args, request };
        } catch (e) {
          if (e instanceof Error) e.message = `steps[${i}] (${s.id}): ${e.message}`;
          throw e;
        }
      });
      admitWorkflow(core, steps);
      return { workflow: workflowToProto((await core.workflows.create(dag.name, "dag", steps)).workflow) };
    }),

    getWorkflow: unary(async (req) => ({ workflow: workflowToProto((await core.workflows.get(req.workflowId)).workflow) })),

    cancelWorkflow: unary(async (req) => ({ workflow: workflowToProto((await core.workflows.cancel(req.workflowId)).workflow) })),
  };

  return (router) => {
    router.service(OJSService, impl);
  };
}
