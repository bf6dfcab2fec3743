/**
 * The ojs.v1 gRPC binding on connect-node: one HTTP/2 session per transport,
 * reused by every call and stream, closed by close().
 */
import { createClient, type Client as RpcClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { OJSService } from "../../../gen/ojs/v1/service_pb.js";
import {
  healthFromProto,
  jobErrorToProto,
  jobFromProto,
  jobStateFromProto,
  optionsToProto,
  requestToProto,
  resultToStruct,
  VISIBILITY_HEADER,
  workerStateFromProto,
  workerStateToProto,
} from "../../codec/proto.js";
import { dateFromTimestamp, durationFromMs, valueFromJson } from "../../codec/values.js";
import { ConnectionError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { Health, HeartbeatResult, Manifest, NackResult, WorkerDirective } from "../../model/system.js";
import { authHeaders, type TransportOptions } from "../options.js";
import type { AckRequest, CallOptions, FetchJobsRequest, HeartbeatRequest, NackRequest, StreamJobsRequest, Transport } from "../transport.js";
import { fromConnectError } from "./errors.js";

export type GrpcTransportOptions = TransportOptions;

export class GrpcTransport implements Transport {
  readonly name = "grpc";
  private readonly session: Http2SessionManager;
  private readonly rpc: RpcClient<typeof OJSService>;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(opts: GrpcTransportOptions) {
    const url = new URL(opts.url);
    const tls = opts.tls;
    const nodeOptions =
      url.protocol === "https:" && tls
        ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecureSkipVerify }
        : {};
    // Pings keep a long-idle worker's connection honest: a dead peer is noticed
    // in seconds instead of when the next job never arrives.
    this.session = new Http2SessionManager(url, { pingIntervalMs: 15_000, pingTimeoutMs: 10_000, pingIdleConnection: true }, nodeOptions);
    const transport = createGrpcTransport({ baseUrl: url.toString().replace(/\/$/, ""), sessionManager: this.session });
    this.rpc = createClient(OJSService, transport);
    this.headers = { ...(opts.headers ?? {}), ...authHeaders(opts.auth) };
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private callOptions(opts: CallOptions | undefined, extra?: Record<string, string>): { signal?: AbortSignal; timeoutMs: number; headers: Record<string, string> } {
    if (this.closed) throw new ConnectionError("the transport is closed");
    const o: { signal?: AbortSignal; timeoutMs: number; headers: Record<string, string> } = {
      timeoutMs: opts?.timeoutMs ?? this.timeoutMs,
      headers: { ...this.headers, ...(opts?.headers ?? {}), ...(extra ?? {}) },
    };
    if (opts?.signal) o.signal = opts.signal;
    return o;
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw fromConnectError(e, operation);
    }
  }

  manifest(opts?: CallOptions): Promise<Manifest> {
    return this.call("manifest", async () => {
      const r = await this.rpc.manifest({}, this.callOptions(opts));
      const m: Manifest = {
        specversion: r.ojsVersion,
        implementation: {
          name: r.implementation?.name ?? "",
          version: r.implementation?.version ?? "",
          language: r.implementation?.language ?? "",
        },
        conformanceLevel: r.conformanceLevel,
        protocols: [...r.protocols],
        backend: r.backend,
        extensions: [...r.extensions],
        schemaValidation: r.schemaValidation,
      };
      return m;
    });
  }

  health(opts?: CallOptions): Promise<Health> {
    return this.call("health", async () => {
      const r = await this.rpc.health({}, this.callOptions(opts));
      const h: Health = { status: healthFromProto(r.status) };
      if (r.timestamp) h.timestamp = dateFromTimestamp(r.timestamp);
      if (r.details) h.details = r.details as Health["details"];
      return h;
    });
  }

  enqueue(req: NormalizedJobRequest, opts?: CallOptions): Promise<Job> {
    return this.call("enqueue", async () => {
      const r = await this.rpc.enqueue(requestToProto(req), this.callOptions(opts));
      return jobFromProto(r.job!);
    });
  }

  enqueueBatch(reqs: NormalizedJobRequest[], opts?: CallOptions): Promise<Job[]> {
    return this.call("enqueueBatch", async () => {
      const now = Date.now();
      const r = await this.rpc.enqueueBatch(
        { jobs: reqs.map((q) => ({ type: q.type, args: q.args.map(valueFromJson), options: optionsToProto(q, now) })) },
        this.callOptions(opts),
      );
      return r.jobs.map(jobFromProto);
    });
  }

  getJob(id: string, opts?: CallOptions): Promise<Job> {
    return this.call("getJob", async () => jobFromProto((await this.rpc.getJob({ jobId: id }, this.callOptions(opts))).job!));
  }

  cancelJob(id: string, opts?: CallOptions): Promise<Job> {
    return this.call("cancelJob", async () => jobFromProto((await this.rpc.cancelJob({ jobId: id }, this.callOptions(opts))).job!));
  }

  fetch(req: FetchJobsRequest, opts?: CallOptions): Promise<Job[]> {
    return this.call("fetch", async () => {
      const extra = req.visibilityTimeoutMs ? { [VISIBILITY_HEADER]: String(req.visibilityTimeoutMs) } : undefined;
      const r = await this.rpc.fetch({ queues: req.queues, count: req.count, workerId: req.workerId }, this.callOptions(opts, extra));
      return r.jobs.map(jobFromProto);
    });
  }

  async *streamJobs(req: StreamJobsRequest, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<Job> {
    const extra = req.visibilityTimeoutMs ? { [VISIBILITY_HEADER]: String(req.visibilityTimeoutMs) } : undefined;
    // A stream has no deadline: it lives until the worker or the server ends it.
    const o = { ...this.callOptions(opts, extra), timeoutMs: 0 };
    try {
      for await (const pb of this.rpc.streamJobs({ queues: req.queues, workerId: req.workerId, maxConcurrent: req.maxConcurrent }, o)) {
        yield jobFromProto(pb);
      }
    } catch (e) {
      throw fromConnectError(e, "streamJobs");
    }
  }

  ack(req: AckRequest, opts?: CallOptions): Promise<void> {
    return this.call("ack", async () => {
      const msg: { jobId: string; result?: ReturnType<typeof resultToStruct> } = { jobId: req.jobId };
      if (req.result !== undefined) msg.result = resultToStruct(req.result);
      await this.rpc.ack(msg, this.callOptions(opts));
    });
  }

  nack(req: NackRequest, opts?: CallOptions): Promise<NackResult> {
    return this.call("nack", async () => {
      // The proto bool cannot be "unset": an error is retryable unless it says otherwise.
      const error = jobErrorToProto({ ...req.error, retryable: req.error.retryable ?? true });
      const r = await this.rpc.nack({ jobId: req.jobId, error }, this.callOptions(opts));
      const out: NackResult = { state: jobStateFromProto(r.state) ?? "retryable" };
      if (r.nextAttemptAt) out.nextAttemptAt = dateFromTimestamp(r.nextAttemptAt);
      return out;
    });
  }

  /**
   * The proto beats one job per call, so a worker with N active jobs makes N
   * calls (concurrently, on the shared session); with none it makes one call to
   * report its state. The strongest directive among the answers wins.
   */
  heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<HeartbeatResult> {
    return this.call("heartbeat", async () => {
      const ids = req.activeJobIds.length ? req.activeJobIds : [""];
      const base = {
        workerId: req.workerId,
        currentState: workerStateToProto(req.state),
        ...(req.visibilityTimeoutMs ? { extendBy: durationFromMs(req.visibilityTimeoutMs) } : {}),
      };
      const answers = await Promise.all(ids.map((id) => this.rpc.heartbeat({ ...base, id }, this.callOptions(opts))));
      let directive: WorkerDirective = "running";
      let deadline: Date | undefined;
      for (const a of answers) {
        const d = workerStateFromProto(a.directedState);
        if (d === "terminate" || (d === "quiet" && directive === "running")) directive = d;
        if (a.newDeadline) {
          const nd = dateFromTimestamp(a.newDeadline);
          if (!deadline || nd > deadline) deadline = nd;
        }
      }
      const out: HeartbeatResult = { directive };
      if (deadline) out.newDeadline = deadline;
      return out;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session.abort();
  }
}

export function grpcTransport(opts: GrpcTransportOptions): GrpcTransport {
  return new GrpcTransport(opts);
}
