/**
 * The ojs.v1 gRPC binding. The hand-framed calls (the standard methods workers
 * and producers call in a loop, StreamJobs, EnqueueBatch, the fast path) go
 * over one HTTP/2 connection of the transport's own client (src/transport/h2),
 * or node:http2 with `http2Client: "node"`; the other methods over connect-es
 * on connect-node's session manager, whose connection opens only when one of
 * them is called. close() closes both.
 */
import { createClient, type Client as RpcClient, type Transport as ConnectTransport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { OJSService } from "../../../gen/ojs/v1/service_pb.js";
import { StreamJobsRequestSchema } from "../../../gen/ojs/v1/worker_pb.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { eventFromProto, jobFromProto, VISIBILITY_HEADER, workerStateToProto } from "../../codec/proto.js";
import { durationFromMs } from "../../codec/values.js";
import { ConnectionError, UnimplementedError, ValidationError } from "../../model/errors.js";
import type { EventFilter, OjsEvent } from "../../model/events.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { HeartbeatResult, NackResult } from "../../model/system.js";
import { authHeaders, TRANSPORT_OPTION_KEYS, transportOptionsOf, type TransportOptions } from "../options.js";
import { checkHttpUrl, checkOptionKeys, type KeyList } from "../../util/options.js";
import type { AckRequest, CallOptions, HeartbeatRequest, NackRequest, StreamJobsRequest, Transport } from "../transport.js";
import { callOptionsOf, OperationMethods } from "../executor.js";
import { OPERATIONS, type OperationName } from "../operations.js";
import type { ArgsOf, GrpcBinding, ResultOf, ServerView } from "../operation-spec.js";
import { HttpTransport } from "../http/transport.js";
import type { AdminTransport } from "../admin.js";
import type { WebhookTransport } from "../webhooks.js";
import { fromConnectError } from "./errors.js";
import { heartbeatEach } from "./heartbeat.js";
import { serverKind, type ServerKind } from "./server-kind.js";
import type { FastPath } from "./fastpath.js";
import { StandardCalls } from "./standard.js";
import { enqueueBatchRaw } from "./batch.js";
import { jobStream } from "./job-stream.js";
import { grpcAdmin } from "./admin.js";
import { grpcWebhooks } from "./webhooks.js";
import { checkStandard, fastFailed, hasOwnHeaders, keepaliveMs, refusedStream, settleFast, type GrpcCallOptions } from "./calls.js";
import { framedManifest, H2Wire, NodeWire, type GrpcWire } from "./wire.js";
import { H2Client } from "../h2/client.js";

export type GrpcTransportOptions = TransportOptions & {
  /**
   * Where the few operations the ojs.v1 proto lacks (schemas, progress) go over
   * HTTP/JSON. Default: the same URL, which is right for the embedded server;
   * official servers serve HTTP on another port (8080 beside gRPC on 9090).
   */
  httpUrl?: string;
  /**
   * A connect-es transport to use instead of a network connection, e.g.
   * createRouterTransport() for an in-process server (the testing toolkit's fakes).
   */
  connect?: ConnectTransport;
  /**
   * Pipeline enqueue, ack and nack over the ojs-connect fast path when the
   * server's manifest offers it (default true); the standard unary RPCs otherwise.
   */
  fastPath?: boolean;
  /**
   * The HTTP/2 client under the hand-framed calls: "ojs" (default), the
   * transport's own, about half the CPU per call of node:http2; "node",
   * node:http2 through connect-node's session manager. The
   * methods served through connect-es always use node:http2.
   */
  http2Client?: "ojs" | "node";
};

const GRPC_OPTION_KEYS: KeyList<GrpcTransportOptions> = { ...TRANSPORT_OPTION_KEYS, httpUrl: true, connect: true, fastPath: true, http2Client: true };

export class GrpcTransport extends OperationMethods implements Transport {
  readonly name = "grpc";
  /** node:http2 for connect-es (it connects at its first call). */
  private readonly session: Http2SessionManager | undefined;
  /** Where the hand-framed calls go; none for an in-process (connect) transport. */
  private readonly wire: GrpcWire | undefined;
  /** The standard unary methods, hand-framed on the wire; none for an in-process (connect) transport. */
  private readonly standard: StandardCalls | undefined;
  private readonly rpc: RpcClient<typeof OJSService>;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private closed = false;
  private httpFallback: HttpTransport | undefined;
  /** The admin-api extension: ojs.v1 RPCs where they exist, the HTTP binding (httpUrl) for the rest. */
  readonly admin: AdminTransport = grpcAdmin(this, () => this.http().admin);
  /** The webhooks extension: ojs.v1 has no RPC for it, so the HTTP binding (httpUrl) serves it. */
  readonly webhooks: WebhookTransport = grpcWebhooks(() => this.http().webhooks);
  private probe: Promise<ServerKind> | undefined;
  /** What the table's proto conversions may ask of the server. */
  private readonly view: ServerView = { ours: async () => (await this.server()).ours };
  /** The fast path once the probe found it: a worker's acks need not await the probe each time. */
  private fastReady: FastPath | undefined;
  /** What the probe found, once it has: every call after it reads this instead of awaiting the probe. */
  private known: ServerKind | undefined;

  /** Checks the options (unknown keys, a URL that is not http(s)); connects at the first call. */
  constructor(private readonly opts: GrpcTransportOptions) {
    super();
    checkOptionKeys(opts, GRPC_OPTION_KEYS, "grpcTransport");
    const url = checkHttpUrl(opts.url);
    if (opts.httpUrl !== undefined) checkHttpUrl(opts.httpUrl, "httpUrl");
    const tls = opts.tls;
    const nodeOptions = {
      // Node's 10 MB default would refuse a larger message locally with an opaque,
      // retryable ENHANCE_YOUR_CALM; the server's maxMessageBytes is what decides.
      maxSessionMemory: 64,
      ...(url.protocol === "https:" && tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecureSkipVerify } : {}),
    };
    // Pings keep a connection with an open call or stream honest (a streaming worker
    // always has one): a dead peer is noticed within interval + timeout, 10 s by
    // default, where TCP alone would take minutes. Idle connections are not
    // pinged on a timer: connect-node verifies them with a ping before their next
    // call anyway, and an idle-ping timer re-armed by a stream closing after
    // abort() pings the destroyed session and throws ERR_HTTP2_INVALID_SESSION
    // uncaught, crashing the process 15 s after close().
    const pingIntervalMs = keepaliveMs(opts.keepaliveIntervalMs, "keepaliveIntervalMs");
    const pingTimeoutMs = keepaliveMs(opts.keepaliveTimeoutMs, "keepaliveTimeoutMs");
    if (opts.http2Client !== undefined && opts.http2Client !== "ojs" && opts.http2Client !== "node")
      throw new ValidationError(`http2Client: must be "ojs" or "node", got ${String(opts.http2Client)}`);
    this.session = opts.connect ? undefined : new Http2SessionManager(url, { pingIntervalMs, pingTimeoutMs, pingIdleConnection: false }, nodeOptions);
    // The same keepalive rules on the own client: pings while calls are open, a check before a call after silence.
    this.wire = !this.session
      ? undefined
      : opts.http2Client === "node"
        ? new NodeWire(this.session)
        : new H2Wire(
            new H2Client(url, {
              pingIntervalMs,
              pingTimeoutMs,
              ...(url.protocol === "https:" && tls ? { tls: { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecureSkipVerify } } : {}),
            }),
          );
    this.standard = this.wire && new StandardCalls(this.wire);
    const transport = opts.connect ?? createGrpcTransport({ baseUrl: url.toString().replace(/\/$/, ""), sessionManager: this.session! });
    this.rpc = createClient(OJSService, transport);
    // The manifest (the probe every client starts with) hand-framed too: connect-es's connection opens only for the other methods.
    if (this.wire) this.rpc.manifest = framedManifest(this.wire);
    this.headers = { ...(opts.headers ?? {}), ...authHeaders(opts.auth) };
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private callOptions(opts: CallOptions | undefined, extra?: Record<string, string>): GrpcCallOptions {
    if (this.closed) throw new ConnectionError("the transport is closed");
    const o: GrpcCallOptions = {
      timeoutMs: opts?.timeoutMs ?? this.timeoutMs,
      headers: { ...this.headers, ...(opts?.headers ?? {}), ...(extra ?? {}) },
    };
    if (opts?.signal) o.signal = opts.signal;
    return o;
  }

  // Promise chains rather than async functions on the per-call path: each async layer costs a
  // promise and microtask hops on every call, and a unary call is only a few microseconds of work.
  private call<T>(operation: string, fn: () => Promise<T>, signal?: AbortSignal, attempt = 1): Promise<T> {
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.catch((e: unknown) => {
      // A stream the server refused was never processed, so sending it again is safe for
      // any call. It happens to a burst sent on a new connection before the server's
      // SETTINGS (its cap on concurrent streams) arrive; after them, Node queues instead.
      if (attempt < 4 && refusedStream(e) && !signal?.aborted)
        return new Promise((r) => setTimeout(r, 10 * attempt)).then(() => this.call(operation, fn, signal, attempt + 1));
      throw fromConnectError(e, operation, signal);
    });
  }

  /** `go` with what the server is: at once when known, after the probe otherwise. */
  private withKind<T>(go: (kind: ServerKind) => Promise<T>): Promise<T> {
    return this.known ? go(this.known) : this.server().then(go);
  }

  /**
   * One row of the operation table over this binding, in the call() wrapper;
   * the HTTP binding where ojs.v1 has no RPC for it.
   */
  protected unary(op: OperationName, args: unknown[]): Promise<unknown> {
    if (OPERATIONS[op].grpc === "http") return (this.http()[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    return this.call(op, () => this.send(op, args), callOptionsOf(op, args)?.signal);
  }

  /**
   * The row's RPC: hand-framed on the session when the row has a framed form
   * and there is a session, over connect-es (the table's proto conversion) otherwise.
   */
  private send(op: OperationName, args: unknown[]): Promise<unknown> {
    const row = OPERATIONS[op].grpc as unknown as GrpcBinding<unknown[], unknown>;
    const known = this.known;
    if (typeof row !== "string" && row.framed && known?.standard)
      return row.framed(known.standard, args, this.callOptions(callOptionsOf(op, args)), known.ours);
    return this.sendAfterProbe(op, args);
  }

  /** send() before the probe has answered, or for a row without a framed form: the probe, then connect-es or the framed call. */
  private async sendAfterProbe(op: OperationName, args: unknown[]): Promise<unknown> {
    const row = OPERATIONS[op].grpc as unknown as GrpcBinding<unknown[], unknown>;
    if (typeof row === "string") throw new UnimplementedError(`${op}: the gRPC transport has no generic call for it`, { operation: op });
    const opts = callOptionsOf(op, args);
    if (row.framed) {
      const { standard, ours } = this.known ?? (await this.server());
      if (standard) return row.framed(standard, args, this.callOptions(opts), ours);
    }
    const msg = await row.request(args, this.view);
    const rpc = this.rpc[row.rpc] as (m: unknown, o: GrpcCallOptions) => Promise<never>;
    return row.response(await rpc(msg, this.callOptions(opts, row.headers?.(args))), args);
  }

  /**
   * What the server is, from its manifest, asked once: an ojs-connect server
   * (it lists the fast-path extension) reads the reserved meta keys and offers
   * the fast path; any other server gets the standard messages only. A failed
   * manifest call is not cached: the next call asks again, and meanwhile the
   * server is taken to be ours (the reserved keys are what keeps a client-chosen
   * id, so dropping them on a guess would lose it).
   */
  private server(): Promise<ServerKind> {
    if (this.closed) return Promise.resolve({ ours: true, fast: undefined, standard: this.standard });
    this.probe ??= this.rpc.manifest({}, { timeoutMs: Math.min(this.timeoutMs, 5000), headers: this.headers }).then(
      (m) => {
        const kind = serverKind(m, this.opts.fastPath !== false ? this.wire : undefined, this.headers, this.standard);
        this.fastReady = kind.fast;
        this.known = kind;
        return kind;
      },
      () => {
        this.probe = undefined;
        return { ours: true, fast: undefined, standard: this.standard };
      },
    );
    return this.probe;
  }

  override enqueue(req: NormalizedJobRequest, opts?: CallOptions): Promise<Job> {
    // A producer's every call: straight onto the fast path once it is known, as ack does.
    const fast = this.fastReady;
    if (fast && !this.closed && !hasOwnHeaders(opts))
      return settleFast(fast.enqueue(req, this.timeoutMs, opts), "enqueue", opts, () =>
        this.call("enqueue", () => fast.enqueue(req, this.timeoutMs, this.callOptions(opts)), opts?.signal),
      );
    return this.fastOr("enqueue", [req, opts], (fast, o) => fast.enqueue(req, this.timeoutMs, o));
  }

  override enqueueBatch(reqs: NormalizedJobRequest[], opts?: CallOptions): Promise<Job[]> {
    return this.call(
      "enqueueBatch",
      async () => {
        const o = this.callOptions(opts);
        const { ours, fast } = await this.server();
        if (!ours) for (const r of reqs) checkStandard(r, "enqueueBatch");
        // A thousand jobs each way: the hand-written codec is several times cheaper than reflection here.
        if (this.wire) return enqueueBatchRaw(this.wire, reqs, o, ours, fast?.compactBatch === true);
        return this.send("enqueueBatch", [reqs, opts]) as Promise<Job[]>;
      },
      opts?.signal,
    );
  }

  streamJobs(req: StreamJobsRequest, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<Job> {
    const extra = req.visibilityTimeoutMs ? { [VISIBILITY_HEADER]: String(req.visibilityTimeoutMs) } : undefined;
    const msg = { queues: req.queues, workerId: req.workerId, maxConcurrent: req.maxConcurrent };
    if (this.wire) {
      // Every job a worker receives comes this way: frames decoded by the hand-written codec.
      return jobStream({
        wire: this.wire,
        path: "/ojs.v1.OJSService/StreamJobs",
        prepare: () => ({ headers: this.callOptions(opts, extra).headers, request: toBinary(StreamJobsRequestSchema, create(StreamJobsRequestSchema, msg)) }),
        signal: opts.signal,
        mapError: (e) => fromConnectError(e, "streamJobs", opts.signal),
      });
    }
    return this.streamJobsConnect(msg, extra, opts);
  }

  private async *streamJobsConnect(
    msg: { queues: string[]; workerId: string; maxConcurrent: number },
    extra: Record<string, string> | undefined,
    opts: CallOptions & { signal: AbortSignal },
  ): AsyncIterable<Job> {
    // A stream has no deadline: it lives until the worker or the server ends it.
    const o = { ...this.callOptions(opts, extra), timeoutMs: 0 };
    try {
      for await (const pb of this.rpc.streamJobs(msg, o)) yield jobFromProto(pb);
    } catch (e) {
      throw fromConnectError(e, "streamJobs", opts.signal);
    }
  }

  override ack(req: AckRequest, opts?: CallOptions): Promise<void> {
    // Every job of a streaming worker ends here: straight onto the fast path once it is known.
    const fast = this.fastReady;
    if (fast && !this.closed && !hasOwnHeaders(opts))
      return fast.ackOr(req, this.timeoutMs, opts, (e) =>
        fastFailed(e, "ack", opts, () => this.call("ack", () => fast.ack(req, this.timeoutMs, this.callOptions(opts)), opts?.signal)),
      );
    return this.call(
      "ack",
      () =>
        this.withKind(({ fast }) =>
          fast && !hasOwnHeaders(opts) ? fast.ack(req, this.timeoutMs, this.callOptions(opts)) : (this.send("ack", [req, opts]) as Promise<void>),
        ),
      opts?.signal,
    );
  }

  override nack(req: NackRequest, opts?: CallOptions): Promise<NackResult> {
    return this.fastOr("nack", [req, opts], (fast, o) => fast.nack(req, this.timeoutMs, o));
  }

  /** On the fast path once it is known (and the call brings no headers of its own); the row's RPC otherwise. */
  private fastOr<K extends "enqueue" | "nack">(
    op: K,
    args: ArgsOf<K>,
    onFast: (fast: FastPath, o: GrpcCallOptions) => Promise<ResultOf<K>>,
  ): Promise<ResultOf<K>> {
    const opts = args[1];
    return this.call(
      op,
      () =>
        this.withKind((kind) =>
          kind.fast && !hasOwnHeaders(opts) ? onFast(kind.fast, this.callOptions(opts)) : (this.send(op, args) as Promise<ResultOf<K>>),
        ),
      opts?.signal,
    );
  }

  started(req: { jobId: string; workerId: string }, opts?: CallOptions): Promise<boolean> {
    const fast = this.fastReady;
    if (fast && !this.closed && !hasOwnHeaders(opts))
      return settleFast(
        fast.started(req.jobId, req.workerId, this.timeoutMs, opts).then(() => true),
        "started",
        opts,
        () => this.call("started", () => fast.started(req.jobId, req.workerId, this.timeoutMs, this.callOptions(opts)).then(() => true), opts?.signal),
      );
    return this.call(
      "started",
      async () => {
        const fast = this.fastReady ?? (await this.server()).fast;
        if (!fast || hasOwnHeaders(opts)) return false;
        await fast.started(req.jobId, req.workerId, this.timeoutMs, this.callOptions(opts));
        return true;
      },
      opts?.signal,
    );
  }

  /** One call per active job (the proto beats one job each): see ./heartbeat.ts. */
  override heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<HeartbeatResult> {
    return this.call(
      "heartbeat",
      async () => {
        const { standard } = this.known ?? (await this.server());
        const beat = { workerId: req.workerId, state: req.state, visibilityTimeoutMs: req.visibilityTimeoutMs };
        return heartbeatEach(req, (id) => {
          if (standard) return standard.heartbeat({ ...beat, id }, this.callOptions(opts));
          const extendBy = req.visibilityTimeoutMs ? { extendBy: durationFromMs(req.visibilityTimeoutMs) } : {};
          return this.rpc.heartbeat({ id, workerId: req.workerId, currentState: workerStateToProto(req.state), ...extendBy }, this.callOptions(opts));
        });
      },
      opts?.signal,
    );
  }

  // --- events ---------------------------------------------------------------------------------

  async *streamEvents(filter: EventFilter, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<OjsEvent> {
    const o = { ...this.callOptions(opts), timeoutMs: 0 };
    try {
      const req = { queues: filter.queues ?? [], eventTypes: filter.types ?? [], jobId: filter.jobId ?? "", workflowId: filter.workflowId ?? "" };
      for await (const pb of this.rpc.streamEvents(req, o)) {
        // Keepalives exist to hold the connection open; they are not lifecycle events.
        if (pb.type === "stream.keepalive") continue;
        yield eventFromProto(pb);
      }
    } catch (e) {
      if (opts.signal.aborted) return;
      throw fromConnectError(e, "streamEvents", opts.signal);
    }
  }

  // --- over HTTP: what the proto has no RPC for (the "http" rows of the table) ------------------

  private http(): HttpTransport {
    if (this.closed) throw new ConnectionError("the transport is closed");
    this.httpFallback ??= new HttpTransport({ ...transportOptionsOf(this.opts), url: this.opts.httpUrl ?? this.opts.url });
    return this.httpFallback;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    (await this.probe?.catch(() => undefined))?.fast?.close();
    this.wire?.close();
    this.session?.abort();
    await this.httpFallback?.close();
  }
}

/** A gRPC transport, to pass as `transport` when the defaults do not fit (e.g. official servers' separate HTTP port). */
export function grpcTransport(opts: GrpcTransportOptions): GrpcTransport {
  return new GrpcTransport(opts);
}
