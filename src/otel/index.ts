/**
 * OpenTelemetry for ojs-connect (needs the optional peer dependency
 * @opentelemetry/api). Trace context travels in the job's `meta`
 * (traceparent, tracestate, trace_id) from enqueue to execution.
 *
 * ```ts
 * client.useEnqueueMiddleware(otelEnqueue());
 * worker.use(otelProcess());
 * ```
 *
 * Spans follow the OJS tracing spec: "{queue} enqueue" (PRODUCER) and
 * "{queue} process" (CONSUMER), attributes messaging.system=ojs and
 * ojs.job.{id,type,queue,attempt}. The process span links to the producer's
 * span (the spec's choice); pass `parent: true` for a parent/child trace instead.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Link, type Tracer } from "@opentelemetry/api";
import type { EnqueueMiddleware } from "../client/client.js";
import type { JsonObject } from "../model/json.js";
import { toJobError } from "../worker/errors.js";
import type { Middleware } from "../worker/types.js";

/** Options of the OpenTelemetry middleware. */
export interface OtelOptions {
  /** Default: trace.getTracer("ojs-connect"). */
  tracer?: Tracer;
}

const KEYS = ["traceparent", "tracestate"] as const;

/** Enqueue middleware: a PRODUCER span per job, its context injected into meta. */
export function otelEnqueue(opts: OtelOptions = {}): EnqueueMiddleware {
  return async (req, next) => {
    const tracer = opts.tracer ?? trace.getTracer("ojs-connect");
    const queue = req.options.queue ?? "default";
    const span = tracer.startSpan(`${queue} enqueue`, {
      kind: SpanKind.PRODUCER,
      attributes: { "messaging.system": "ojs", "ojs.job.type": req.type, "ojs.job.queue": queue },
    });
    try {
      // The span's context is injected explicitly: this works whether or not the
      // application registered a context manager.
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), carrier);
      const meta: JsonObject = { ...(req.options.meta ?? {}) };
      for (const k of KEYS) if (carrier[k]) meta[k] = carrier[k];
      meta.trace_id = span.spanContext().traceId;
      return await next({ ...req, options: { ...req.options, meta } });
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  };
}

/** Execution middleware: a CONSUMER span per attempt, linked to (or child of) the producer's span. */
export function otelProcess(opts: OtelOptions & { parent?: boolean } = {}): Middleware {
  return async (ctx, next) => {
    const tracer = opts.tracer ?? trace.getTracer("ojs-connect");
    const carrier: Record<string, string> = {};
    for (const k of KEYS) {
      const v = ctx.meta[k];
      if (typeof v === "string") carrier[k] = v;
    }
    const producer = propagation.extract(context.active(), carrier);
    const producerSpan = trace.getSpanContext(producer);
    const links: Link[] = producerSpan && !opts.parent ? [{ context: producerSpan }] : [];
    const attributes: Record<string, string | number> = {
      "messaging.system": "ojs",
      "ojs.job.id": ctx.jobId,
      "ojs.job.type": ctx.type,
      "ojs.job.queue": ctx.queue,
      "ojs.job.attempt": ctx.attempt,
      "ojs.worker.id": ctx.workerId,
    };
    if (ctx.workflowId) attributes["ojs.workflow.id"] = ctx.workflowId;
    const parentCtx = opts.parent && producerSpan ? producer : context.active();
    return tracer.startActiveSpan(`${ctx.queue} process`, { kind: SpanKind.CONSUMER, attributes, links }, parentCtx, async (span) => {
      try {
        return await next();
      } catch (e) {
        const err = toJobError(e);
        span.setAttribute("error.type", err.code);
        span.setAttribute("error.message", err.message);
        span.setAttribute("ojs.job.error.attempt", ctx.attempt);
        span.recordException(e instanceof Error ? e : new Error(err.message));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        throw e;
      } finally {
        span.end();
      }
    });
  };
}
