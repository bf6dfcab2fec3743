/**
 * `client.checkpoints` and the worker's `ctx.checkpoint()`: the
 * durable-execution extension's operations, checked before anything is sent.
 * Transport-neutral: HTTP serves them, and the gRPC transport reaches the
 * HTTP binding (ojs.v1 has no RPC for checkpoints).
 */
import { ValidationError } from "../model/errors.js";
import type { Checkpoint, CheckpointSaved } from "../model/checkpoint.js";
import type { JsonValue } from "../model/json.js";
import type { Limits } from "../model/limits.js";
import { checkCheckpointState, checkpointOps } from "../transport/checkpoint-ops.js";
import type { CallOptions, Transport } from "../transport/transport.js";
import type { CallRunner } from "./extension.js";

function requireJobId(id: unknown, operation: string): string {
  if (typeof id !== "string" || id === "")
    throw new ValidationError("jobId: must be a non-empty string", { operation, issues: [{ path: "jobId", message: "must be a non-empty string" }] });
  return id;
}

/**
 * A job's checkpoint from the producer or operator side (the durable-execution
 * extension): read what a worker saved, seed one before the job runs, or clear
 * it so the next attempt starts afresh. Workers save with `ctx.checkpoint()`.
 */
export class CheckpointClient {
  /** @internal */
  constructor(
    private readonly transport: Transport,
    private readonly limits: Readonly<Limits>,
    private readonly run: CallRunner,
  ) {}

  /** The job's checkpoint; undefined when it has none. NotFoundError for a job the server does not know. */
  async get<S extends JsonValue = JsonValue>(jobId: string, call?: CallOptions): Promise<Checkpoint<S> | undefined> {
    const id = requireJobId(jobId, "checkpoints.get");
    const ops = checkpointOps(this.transport, "checkpoints.get");
    return (await this.run(true, call, (c) => ops.getCheckpoint(id, c))) as Checkpoint<S> | undefined;
  }

  /** Saves `state` as the job's checkpoint, replacing the last one; ConflictError once the job is finished. */
  async save(jobId: string, state: JsonValue, call?: CallOptions): Promise<CheckpointSaved> {
    const id = requireJobId(jobId, "checkpoints.save");
    const s = checkCheckpointState(this.limits, state, "checkpoints.save");
    const ops = checkpointOps(this.transport, "checkpoints.save");
    // Not retried: a save that reached the server counts in the sequence.
    return this.run(false, call, (c) => ops.saveCheckpoint(id, s, c));
  }

  /** Deletes the job's checkpoint (idempotent); true when there was one. */
  async delete(jobId: string, call?: CallOptions): Promise<boolean> {
    const id = requireJobId(jobId, "checkpoints.delete");
    const ops = checkpointOps(this.transport, "checkpoints.delete");
    return this.run(true, call, (c) => ops.deleteCheckpoint(id, c));
  }
}
