/**
 * The fake's transport: the real gRPC transport over connect's in-process
 * router, so every call is encoded, served by the real ojs.v1 service over the
 * fake's own ServerCore, and decoded, with no socket. The few operations the
 * proto has no RPC for (schemas, progress) go over HTTP in the gRPC transport;
 * here they go to the core directly, so that nothing ever reaches the network.
 */
import { createRouterTransport } from "@connectrpc/connect";
import { ConnectionError, ValidationError } from "../model/errors.js";
import type { EventFilter, OjsEvent } from "../model/events.js";
import type { Job, NormalizedJobRequest } from "../model/job.js";
import { isJsonObject, type JsonObject } from "../model/json.js";
import type { CronJob, Health, HeartbeatResult, Manifest, NackResult, Page, ProgressInfo, QueueInfo, QueueStats, SchemaInfo } from "../model/system.js";
import type { Workflow, WorkflowDefinition } from "../model/workflow.js";
import type { ServerCore } from "../server/core.js";
import { grpcRoutes } from "../server/grpc/service.js";
import { parseVersion, type SchemaRecord } from "../server/store/schemas.js";
import { GrpcTransport } from "../transport/grpc/transport.js";
import type {
  AckRequest,
  CallOptions,
  CronRequest,
  FetchJobsRequest,
  HeartbeatRequest,
  NackRequest,
  PageRequest,
  ProgressUpdate,
  StreamJobsRequest,
  Transport,
} from "../transport/transport.js";

/** Never resolved: the router transport does not use it, and nothing may dial it. */
const NOWHERE = "http://ojs-fake.invalid";

export class InProcessTransport implements Transport {
  readonly name = "grpc";
  private readonly grpc: GrpcTransport;
  private closed = false;

  constructor(private readonly core: ServerCore) {
    this.grpc = new GrpcTransport({ url: NOWHERE, connect: createRouterTransport(grpcRoutes(core)) });
  }

  manifest(opts?: CallOptions): Promise<Manifest> {
    return this.grpc.manifest(opts);
  }
  health(opts?: CallOptions): Promise<Health> {
    return this.grpc.health(opts);
  }
  enqueue(req: NormalizedJobRequest, opts?: CallOptions): Promise<Job> {
    return this.grpc.enqueue(req, opts);
  }
  enqueueBatch(reqs: NormalizedJobRequest[], opts?: CallOptions): Promise<Job[]> {
    return this.grpc.enqueueBatch(reqs, opts);
  }
  getJob(id: string, opts?: CallOptions): Promise<Job> {
    return this.grpc.getJob(id, opts);
  }
  cancelJob(id: string, opts?: CallOptions): Promise<Job> {
    return this.grpc.cancelJob(id, opts);
  }
  fetch(req: FetchJobsRequest, opts?: CallOptions): Promise<Job[]> {
    return this.grpc.fetch(req, opts);
  }
  streamJobs(req: StreamJobsRequest, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<Job> {
    return this.grpc.streamJobs(req, opts);
  }
  ack(req: AckRequest, opts?: CallOptions): Promise<void> {
    return this.grpc.ack(req, opts);
  }
  nack(req: NackRequest, opts?: CallOptions): Promise<NackResult> {
    return this.grpc.nack(req, opts);
  }
  heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<HeartbeatResult> {
    return this.grpc.heartbeat(req, opts);
  }
  listQueues(page?: PageRequest, opts?: CallOptions): Promise<Page<QueueInfo>> {
    return this.grpc.listQueues(page, opts);
  }
  queueStats(queue: string, opts?: CallOptions): Promise<QueueStats> {
    return this.grpc.queueStats(queue, opts);
  }
  pauseQueue(queue: string, opts?: CallOptions): Promise<void> {
    return this.grpc.pauseQueue(queue, opts);
  }
  resumeQueue(queue: string, opts?: CallOptions): Promise<void> {
    return this.grpc.resumeQueue(queue, opts);
  }
  listDeadLetter(req: PageRequest & { queue?: string }, opts?: CallOptions): Promise<Page<Job>> {
    return this.grpc.listDeadLetter(req, opts);
  }
  retryDeadLetter(id: string, opts?: CallOptions): Promise<Job> {
    return this.grpc.retryDeadLetter(id, opts);
  }
  deleteDeadLetter(id: string, opts?: CallOptions): Promise<void> {
    return this.grpc.deleteDeadLetter(id, opts);
  }
  registerCron(req: CronRequest, opts?: CallOptions): Promise<{ name: string; nextRunAt?: Date }> {
    return this.grpc.registerCron(req, opts);
  }
  unregisterCron(name: string, opts?: CallOptions): Promise<void> {
    return this.grpc.unregisterCron(name, opts);
  }
  listCron(opts?: CallOptions): Promise<CronJob[]> {
    return this.grpc.listCron(opts);
  }
  createWorkflow(def: WorkflowDefinition, opts?: CallOptions): Promise<Workflow> {
    return this.grpc.createWorkflow(def, opts);
  }
  getWorkflow(id: string, opts?: CallOptions): Promise<Workflow> {
    return this.grpc.getWorkflow(id, opts);
  }
  cancelWorkflow(id: string, opts?: CallOptions): Promise<Workflow> {
    return this.grpc.cancelWorkflow(id, opts);
  }
  streamEvents(filter: EventFilter, opts: CallOptions & { signal: AbortSignal }): AsyncIterable<OjsEvent> {
    return this.grpc.streamEvents(filter, opts);
  }

  // --- what the gRPC transport sends over HTTP: straight to the core --------------------------

  async listSchemas(): Promise<SchemaInfo[]> {
    this.check();
    return this.core.schemas.list().map(schemaInfo);
  }

  async registerSchema(s: { type: string; version: number | string; schema: JsonObject }): Promise<SchemaInfo> {
    this.check();
    const version = parseVersion(s.version);
    if (version === undefined) throw new ValidationError("version: must be a version number or string", { operation: "registerSchema" });
    if (!isJsonObject(s.schema) || Object.keys(s.schema).length === 0)
      throw new ValidationError("schema: must be a non-empty JSON Schema object", { operation: "registerSchema" });
    return schemaInfo(this.core.schemas.register(s.type, version, s.schema, new Date(this.core.store.clock.now())));
  }

  async getSchema(type: string, version?: number | string): Promise<SchemaInfo> {
    this.check();
    return schemaInfo(this.core.schemas.get(type, version === undefined ? undefined : parseVersion(version)));
  }

  async deleteSchema(type: string, version: number | string): Promise<void> {
    this.check();
    const v = parseVersion(version);
    if (v === undefined) throw new ValidationError("version: must be a version number or string", { operation: "deleteSchema" });
    this.core.schemas.delete(type, v);
  }

  async reportProgress(jobId: string, update: ProgressUpdate): Promise<void> {
    this.check();
    this.core.store.reportProgress(jobId, update);
  }

  async getProgress(jobId: string): Promise<ProgressInfo> {
    this.check();
    const p = this.core.store.get(jobId).progress;
    const out: ProgressInfo = { jobId };
    if (!p) return out;
    if (p.value !== undefined) out.progress = p.value;
    if (p.message !== undefined) out.message = p.message;
    if (p.data !== undefined) out.data = p.data;
    out.updatedAt = p.updatedAt;
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.grpc.close();
  }

  private check(): void {
    if (this.closed) throw new ConnectionError("the transport is closed");
  }
}

function schemaInfo(r: SchemaRecord): SchemaInfo {
  return { type: r.type, version: r.version, schema: r.schema, createdAt: r.createdAt };
}
