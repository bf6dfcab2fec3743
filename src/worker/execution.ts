/**
 * Running one attempt of a job: payload codecs decode it, its args are checked
 * against the handler's schema, the middleware chain and the handler run with
 * a JobContext, its timeout and abort are enforced, and the outcome is settled.
 */
import type { z } from "zod";
import type { CodecChain } from "../codec/payload/chain.js";
import type { JsonValue } from "../model/json.js";
import type { Transport } from "../transport/transport.js";
import { AttemptContext, type ContextHost } from "./context.js";
import { HandlerNotFoundError, JobAbortedError, JobTimeoutError, MiddlewareError, NonRetryableError } from "./errors.js";
import type { ResolvedWorkerOptions } from "./options.js";
import { completeJob, failJob, handBack, type SettleHost } from "./settle.js";
import type { ActiveJob, SlotGate } from "./slots.js";
import type { Handler, HandlerResult, JobContext, Middleware } from "./types.js";

/** A registered handler, with the schemas of its args and checkpoints when it was registered typed. */
export interface Registration {
  handler: Handler<unknown>;
  schema: z.ZodType | undefined;
  checkpoint: z.ZodType | undefined;
}

/** The middleware chain, composed once, around a handler. */
export type Chain = (ctx: JobContext<unknown>, handler: () => Promise<HandlerResult>) => Promise<HandlerResult>;

/** What execution needs from its worker. */
export interface ExecutionHost extends SettleHost {
  readonly opts: ResolvedWorkerOptions;
  readonly codecs: CodecChain | undefined;
  readonly handlers: ReadonlyMap<string, Registration>;
  /** True once the worker is stopping: a job received now is handed back, not started. */
  stopping(): boolean;
  /** The server says the job is no longer ours. */
  loseJob(id: string): void;
}

export class JobExecution {
  /** Set by start() (frozen from then on) or by a run outside dispatch. */
  chain: Chain | undefined;
  /** The worker's slots, which bound settles in flight; set once they exist. */
  gate: SlotGate | undefined;

  /** Pushed jobs started in this turn of the event loop whose start signal is not sent yet; at most one turn's worth. */
  private startQueue: ActiveJob[] = [];
  private startsScheduled = false;

  /** What every attempt's context reaches of the worker: one object for all of them. */
  private readonly contextHost: ContextHost;

  constructor(private readonly h: ExecutionHost) {
    this.contextHost = {
      transport: h.transport,
      workerId: h.workerId,
      visibilityTimeoutMs: h.opts.visibilityTimeoutMs,
      loseJob: (id) => h.loseJob(id),
      abortJob: (a, reason) => this.abortJob(a, abortReason(reason)),
    };
  }

  /**
   * The start signal leaves at the end of this turn's callbacks (a setImmediate), and only for
   * jobs whose ack or nack has not been decided by then: a handler that returned in the turn its
   * job arrived (the settle ends the attempt) costs no call at all, where a call made at once, and
   * dropped by the transport later, cost several promises per job. The signals still travel in
   * the turn's frame: this immediate is queued before the settle frame's own (docs/performance-wkr.md).
   *
   * A settle waiting for room (the concurrency's worth of settles in flight, as against a journal
   * store that answers after its fsync) counts as decided too: its job is held, so heartbeats
   * extend its lease and a stopping worker's last heartbeat lists it as started, and the settle
   * leaves as soon as one in flight is answered. Signalling such jobs cost a call per job on the
   * worker and the server in nearly every drain against the journal (docs/performance-jwkr.md).
   */
  private signalStart(a: ActiveJob): void {
    this.startQueue.push(a);
    if (this.startsScheduled) return;
    this.startsScheduled = true;
    setImmediate(this.sendStarts);
  }

  private readonly sendStarts = (): void => {
    const { transport, workerId } = this.h;
    const list = this.startQueue;
    this.startQueue = [];
    this.startsScheduled = false;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (a.settle === undefined) transport.started!({ jobId: a.job.id, workerId }).catch(ignore);
    }
  };

  /**
   * Runs one attempt and settles it exactly once; its slot frees when the
   * handler returns, and the promise resolves when the settle is answered.
   * Never throws.
   */
  async execute(a: ActiveJob, pushed: boolean, gate: SlotGate): Promise<void> {
    const { h } = this;
    const { job } = a;
    // Received after the worker stopped fetching: hand it back at once rather than start it.
    if (h.stopping()) {
      a.settled = true;
      return gate.settle(a, () => handBack(h, job, { started: false, signal: h.hardSignal }), true);
    }
    h.emit("job.started", { job });
    // A pushed job counts as started on the server once it hears so; until then its expired lease costs no attempt.
    if (pushed && h.transport.started) this.signalStart(a);
    let timeoutTimer: NodeJS.Timeout | undefined;
    if (job.timeout && job.timeout > 0) {
      timeoutTimer = setTimeout(() => this.abortJob(a, new JobTimeoutError(job.timeout!)), job.timeout);
    }
    // Plain locals, not an outcome object: this runs for every job.
    let result: HandlerResult;
    let sent: JsonValue | undefined;
    let failed = false;
    let failure: unknown;
    try {
      // Without codecs the handler is called from here, in this turn: no async frame and promise of
      // invoke's own per job. The await still comes before the settle, as it did around invoke.
      result = await (h.codecs ? this.invoke(a) : this.invokeNow(a));
      sent = h.codecs ? await h.codecs.encodeResult(toResult(result)) : toResult(result);
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      if (timeoutTimer) clearTimeout(timeoutTimer);
      if (a.forceTimer) clearTimeout(a.forceTimer);
    }
    // Already settled: cancelled, failed after an ignored abort, or failed at the end of the grace
    // period. The slot frees now; a forced failure still in flight keeps the job held until answered.
    if (a.settled) {
      gate.handlerReturned(a);
      return a.settle;
    }
    a.settled = true;
    if (!failed) return gate.settle(a, () => completeJob(h, a, result, sent), true);
    // A handler that stopped because its signal aborted failed for the abort's reason.
    const reason = a.abort.aborted ? a.abort.reason : undefined;
    const error = reason instanceof Error ? reason : failure;
    return gate.settle(a, () => failJob(h, a, error), true);
  }

  /**
   * Aborts a running job's signal. A handler that honours it ends and the job
   * fails with the reason; one that ignores it is failed after abortGraceMs
   * anyway, but keeps its slot until it really returns.
   */
  abortJob(a: ActiveJob, reason: Error): void {
    if (a.settled || a.abort.aborted) return;
    a.abort.abort(reason);
    a.forceTimer = setTimeout(() => {
      if (a.settled) return;
      a.settled = true;
      // Within the bound of settles in flight; the handler keeps its slot until it returns.
      const forced = () => failJob(this.h, a, reason);
      if (this.gate) void this.gate.settle(a, forced, false);
      else void forced();
    }, this.h.opts.abortGraceMs);
  }

  /** Decodes the job, checks its args and runs middleware and handler: the handler's result, or what it threw. */
  async invoke(a: ActiveJob, overrides?: Partial<JobContext<unknown>>, checkpointTransport?: Transport): Promise<HandlerResult> {
    const { h } = this;
    // Decoded once, before middleware: a.job is what ctx.job and the job.* events show.
    if (h.codecs) a.job = await h.codecs.decodeJob(a.job);
    return this.invokeDecoded(a, overrides, checkpointTransport);
  }

  /**
   * invoke() without its async frame, for a job that needs no decoding. What the checks or a
   * synchronous handler throw comes back rejected, never thrown: execute() must await before it
   * settles, or a settle freeing a slot would start the next job from the backlog inside this one,
   * a recursion as deep as the room for settles in flight (test/unit/worker-backlog-depth.test.ts).
   */
  private invokeNow(a: ActiveJob): HandlerResult | Promise<HandlerResult> {
    try {
      return this.invokeDecoded(a);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** invoke() once the job is decoded: throws what the checks or a synchronous handler throw. */
  private invokeDecoded(a: ActiveJob, overrides?: Partial<JobContext<unknown>>, checkpointTransport?: Transport): HandlerResult | Promise<HandlerResult> {
    const { h } = this;
    const { job } = a;
    const reg = h.handlers.get(job.type);
    if (!reg) {
      // Another worker in a mixed fleet may know this type: fail retryably, never discard.
      throw new HandlerNotFoundError(`no handler registered for job type "${job.type}" on worker ${h.workerId}`);
    }
    let args: unknown = job.args;
    if (reg.schema) {
      const parsed = reg.schema.safeParse(job.args);
      if (!parsed.success) {
        const msg = parsed.error.issues
          .map((i) => `args${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${i.message}`)
          .join("; ");
        throw new NonRetryableError(`invalid args: ${msg}`, { code: "validation.args" });
      }
      args = parsed.data;
    }
    const ctx: JobContext<unknown> = new AttemptContext(this.contextHost, a, args, reg.checkpoint, checkpointTransport);
    // Own properties over the class's getters and fields (signal, say): what a run outside dispatch swaps in.
    if (overrides) Object.defineProperties(ctx, Object.getOwnPropertyDescriptors(overrides));
    const handler = reg.handler;
    // No middleware: the handler at once, without a closure and an async function around it.
    if (this.chain === NO_MIDDLEWARE) return handler(ctx);
    return this.chain!(ctx, async () => handler(ctx));
  }
}

/** What ctx.abort(reason) aborts with: an Error as is, anything else wrapped in JobAbortedError. */
export function abortReason(reason: unknown): Error {
  return reason instanceof Error ? reason : new JobAbortedError(reason === undefined ? "aborted by the handler" : String(reason));
}

/** Nests middleware around a handler; the first added runs outermost, and each may call next() once. */
/** The chain without middleware; invoke() calls the handler itself then. */
const NO_MIDDLEWARE: Chain = (_ctx, handler) => handler();

export function compose(mws: readonly Middleware[]): Chain {
  if (mws.length === 0) return NO_MIDDLEWARE;
  return (ctx, handler) => {
    const run = (i: number): Promise<HandlerResult> => {
      if (i === mws.length) return handler();
      let called = false;
      return mws[i]!(ctx, () => {
        if (called) return Promise.reject(new MiddlewareError("middleware called next() more than once"));
        called = true;
        return run(i + 1);
      });
    };
    return run(0);
  };
}

function ignore(): void {}

function toResult(r: HandlerResult): JsonValue | undefined {
  return r === undefined ? undefined : r;
}
