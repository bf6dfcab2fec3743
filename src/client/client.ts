import type { EnqueueOptions, Job } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { Health, Manifest } from "../model/system.js";
import { normalizeJobRequest } from "../model/schemas.js";
import { ValidationError } from "../model/errors.js";
import type { CallOptions, Transport } from "../transport/transport.js";
import { resolveTransport, type ConnectionOptions } from "./config.js";

export type ClientOptions = ConnectionOptions;

/**
 * The producer side of OJS: enqueue jobs and look them up. The same calls work
 * over gRPC and HTTP; pick one with `transport`.
 *
 * ```ts
 * await using client = new Client({ url: "http://localhost:8080" });
 * const job = await client.enqueue("email.send", ["ada@example.com"], { queue: "mail" });
 * ```
 */
export class Client implements AsyncDisposable {
  readonly transport: Transport;
  private readonly owned: boolean;
  private closed = false;

  constructor(opts: ClientOptions = {}) {
    const { transport, owned } = resolveTransport(opts);
    this.transport = transport;
    this.owned = owned;
  }

  /** Validates the job, then submits it. Rejects with ValidationError before any I/O when the input is wrong. */
  async enqueue<A extends JsonValue[]>(type: string, args: A, options: EnqueueOptions = {}, call?: CallOptions): Promise<Job<A>> {
    const req = normalizeJobRequest({ type, args, options });
    return (await this.transport.enqueue(req, call)) as Job<A>;
  }

  async getJob(id: string, call?: CallOptions): Promise<Job> {
    return this.transport.getJob(requireId(id, "getJob"), call);
  }

  async cancelJob(id: string, call?: CallOptions): Promise<Job> {
    return this.transport.cancelJob(requireId(id, "cancelJob"), call);
  }

  manifest(call?: CallOptions): Promise<Manifest> {
    return this.transport.manifest(call);
  }

  health(call?: CallOptions): Promise<Health> {
    return this.transport.health(call);
  }

  /** Releases connections (the HTTP/2 session, keep-alive sockets). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.transport.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function requireId(id: unknown, operation: string): string {
  if (typeof id !== "string" || id === "")
    throw new ValidationError("id: must be a non-empty string", { operation, issues: [{ path: "id", message: "must be a non-empty string" }] });
  return id;
}
