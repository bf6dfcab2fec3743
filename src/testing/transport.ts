/**
 * The fake's transport: the real gRPC transport over connect's in-process
 * router, so every call is encoded, served by the real ojs.v1 service over the
 * fake's own ServerCore, and decoded, with no socket. The few operations the
 * proto has no RPC for (schemas, progress) go over HTTP in the gRPC transport;
 * here they go to the core directly, so that nothing ever reaches the network.
 */
import { createRouterTransport } from "@connectrpc/connect";
import { ConnectionError, ValidationError } from "../model/errors.js";
import { isJsonObject, type JsonObject } from "../model/json.js";
import type { ProgressInfo, SchemaInfo } from "../model/system.js";
import type { ServerCore } from "../server/core.js";
import { grpcRoutes } from "../server/grpc/service.js";
import { parseVersion, type SchemaRecord } from "../server/store/schemas.js";
import { GrpcTransport } from "../transport/grpc/transport.js";
import type { ProgressUpdate } from "../transport/transport.js";

/** Never resolved: the router transport does not use it, and nothing may dial it. */
const NOWHERE = "http://ojs-fake.invalid";

export class InProcessTransport extends GrpcTransport {
  private isClosed = false;

  constructor(private readonly core: ServerCore) {
    super({ url: NOWHERE, connect: createRouterTransport(grpcRoutes(core)) });
  }

  // --- what the gRPC transport sends over HTTP: straight to the core --------------------------

  override async listSchemas(): Promise<SchemaInfo[]> {
    this.check();
    return this.core.schemas.list().map(schemaInfo);
  }

  override async registerSchema(s: { type: string; version: number | string; schema: JsonObject }): Promise<SchemaInfo> {
    this.check();
    const version = parseVersion(s.version);
    if (version === undefined) throw new ValidationError("version: must be a version number or string", { operation: "registerSchema" });
    if (!isJsonObject(s.schema) || Object.keys(s.schema).length === 0)
      throw new ValidationError("schema: must be a non-empty JSON Schema object", { operation: "registerSchema" });
    return schemaInfo(this.core.schemas.register(s.type, version, s.schema, new Date(this.core.store.clock.now())));
  }

  override async getSchema(type: string, version?: number | string): Promise<SchemaInfo> {
    this.check();
    return schemaInfo(this.core.schemas.get(type, version === undefined ? undefined : parseVersion(version)));
  }

  override async deleteSchema(type: string, version: number | string): Promise<void> {
    this.check();
    const v = parseVersion(version);
    if (v === undefined) throw new ValidationError("version: must be a version number or string", { operation: "deleteSchema" });
    this.core.schemas.delete(type, v);
  }

  override async reportProgress(jobId: string, update: ProgressUpdate): Promise<void> {
    this.check();
    await this.core.jobs.reportProgress(jobId, update);
  }

  override async getProgress(jobId: string): Promise<ProgressInfo> {
    this.check();
    const p = (await this.core.jobs.get(jobId)).progress;
    const out: ProgressInfo = { jobId };
    if (!p) return out;
    if (p.value !== undefined) out.progress = p.value;
    if (p.message !== undefined) out.message = p.message;
    if (p.data !== undefined) out.data = p.data;
    out.updatedAt = p.updatedAt;
    return out;
  }

  override async close(): Promise<void> {
    this.isClosed = true;
    await super.close();
  }

  private check(): void {
    if (this.isClosed) throw new ConnectionError("the transport is closed");
  }
}

function schemaInfo(r: SchemaRecord): SchemaInfo {
  return { type: r.type, version: r.version, schema: r.schema, createdAt: r.createdAt };
}
