/**
 * The ojs.v1.OJSService implementation over the store, for connect-node's
 * router (gRPC, gRPC-Web and Connect on the same routes).
 */
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { OJSService } from "../../../gen/ojs/v1/service_pb.js";
import type { Job as PbJob } from "../../../gen/ojs/v1/job_pb.js";
import type { Event as PbEvent } from "../../../gen/ojs/v1/events_pb.js";
import { NackResponseSchema, WorkerState } from "../../../gen/ojs/v1/worker_pb.js";
import {
  eventToProto,
  healthToProto,
  jobErrorFromProto,
  jobStateToProto,
  jobToProto,
  requestFromProto,
  resultFromStruct,
  workerStateFromProto,
  workerStateToProto,
  VISIBILITY_HEADER,
} from "../../codec/proto.js";
import { msFromDuration, timestampFromDate } from "../../codec/values.js";
import type { OjsEvent } from "../../model/events.js";
import { normalizeJobRequest } from "../../model/schemas.js";
import type { NormalizedJobRequest } from "../../model/job.js";
import type { ServerCore } from "../core.js";
import type { JobRecord } from "../store/store.js";
import { matchesFilter } from "../store/event-bus.js";
import { toConnectError } from "./errors.js";
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

/** Same validation as the HTTP binding, so both protocols accept and refuse the same jobs. */
function validated(r: NormalizedJobRequest): NormalizedJobRequest {
  const { type, args, ...rest } = r;
  const options: Record<string, unknown> = { ...rest };
  if (rest.retry) options.retry = { ...rest.retry };
  return normalizeJobRequest({ type, args, options }, Date.now());
}

export function grpcRoutes(core: ServerCore): (router: ConnectRouter) => void {
  const store = core.store;
  const toPb = (rec: JobRecord): PbJob => jobToProto(rec.job);

  // Every unary method goes through this: errors become statuses with ErrorInfo,
  // and every response carries the server's version headers.
  function unary<I, O>(fn: (req: I, ctx: HandlerContext) => O): (req: I, ctx: HandlerContext) => Promise<O> {
    return async (req, ctx) => {
      const rid = requestId(ctx);
      ctx.responseHeader.set("x-ojs-server-version", core.manifest().implementation.version);
      ctx.responseHeader.set("x-ojs-conformance-level", "4");
      try {
        return fn(req, ctx);
      } catch (e) {
        throw toConnectError(e, rid);
      }
    };
  }

  const impl: Partial<ServiceImpl<typeof OJSService>> = {
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

    enqueue: unary((req) => {
      const r = validated(requestFromProto(req.type, req.args, req.options));
      return { job: toPb(store.enqueue(r)) };
    }),

    enqueueBatch: unary((req) => {
      const recs = store.enqueueBatch(
        req.jobs.map((entry) => {
          const base = requestFromProto(entry.type, entry.args, req.defaultOptions);
          const own = requestFromProto(entry.type, entry.args, entry.options);
          return { req: validated({ ...base, ...own }) };
        }),
      );
      return { jobs: recs.map(toPb), count: recs.length };
    }),

    getJob: unary((req) => ({ job: toPb(store.get(req.jobId)) })),

    cancelJob: unary((req) => ({ job: toPb(store.cancel(req.jobId)) })),

    fetch: unary((req, ctx) => {
      const recs = store.fetch({
        queues: req.queues.length ? req.queues : ["default"],
        count: req.count || 1,
        workerId: req.workerId || undefined,
        visibilityTimeoutMs: visibilityFrom(ctx),
      });
      return { jobs: recs.map(toPb) };
    }),

    ack: unary((req) => {
      store.ack(req.jobId, req.result ? resultFromStruct(req.result) : undefined);
      return { acknowledged: true };
    }),

    nack: unary((req) => {
      const err = req.error ? jobErrorFromProto(req.error) : { code: "error", message: "" };
      // proto3 has no "unset" bool: false is taken literally (do not retry), as the field says.
      err.retryable = req.error?.retryable ?? false;
      const out = store.nack(req.jobId, err);
      const res = create(NackResponseSchema, { state: jobStateToProto(out.rec.job.state) });
      if (out.nextAttemptAt) res.nextAttemptAt = timestampFromDate(out.nextAttemptAt);
      return res;
    }),

    heartbeat: unary((req) => {
      const out = store.heartbeat({
        workerId: req.workerId || "anonymous",
        state: workerStateFromProto(req.currentState),
        jobIds: req.id ? [req.id] : [],
        visibilityTimeoutMs: req.extendBy ? msFromDuration(req.extendBy) : undefined,
      });
      const res: { directedState: WorkerState; newDeadline?: ReturnType<typeof timestampFromDate> } = {
        directedState: workerStateToProto(out.directive),
      };
      if (out.deadline) res.newDeadline = timestampFromDate(new Date(out.deadline));
      return res;
    }),

    async *streamJobs(req, ctx) {
      requestId(ctx);
      const queue = new AsyncQueue<JobRecord>();
      const consumer = store.openConsumer({
        queues: req.queues.length ? req.queues : ["default"],
        workerId: req.workerId || "anonymous",
        maxConcurrent: req.maxConcurrent > 0 ? req.maxConcurrent : 1,
        visibilityTimeoutMs: visibilityFrom(ctx),
        deliver: (rec) => queue.push(rec),
      });
      const onAbort = () => {
        store.closeConsumer(consumer);
        queue.end();
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      try {
        for await (const rec of queue) {
          // The stream may have been cut between claim and write: hand such jobs back at once.
          if (ctx.signal.aborted) {
            store.release(rec);
            continue;
          }
          yield toPb(rec);
        }
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        store.closeConsumer(consumer);
        for (const rec of queue.drain()) store.release(rec);
      }
    },

    async *streamEvents(req, ctx) {
      requestId(ctx);
      const filter = {
        queues: req.queues,
        types: req.eventTypes,
        ...(req.jobId ? { jobId: req.jobId } : {}),
        ...(req.workflowId ? { workflowId: req.workflowId } : {}),
      };
      // Best effort, as the binding allows: a consumer that falls behind loses the oldest events.
      const queue = new AsyncQueue<OjsEvent>(EVENT_BUFFER);
      const unsubscribe = store.events.subscribe((e) => {
        if (matchesFilter(e, filter)) queue.push(e);
      });
      const keepalive = setInterval(() => {
        queue.push({ id: `evt_keepalive_${Date.now()}`, type: "stream.keepalive", time: new Date(), data: {} });
      }, KEEPALIVE_MS);
      keepalive.unref();
      const onAbort = () => queue.end();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      try {
        for await (const e of queue) yield eventToProto(e) as PbEvent;
      } finally {
        clearInterval(keepalive);
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };

  return (router) => {
    router.service(OJSService, impl);
  };
}
