/**
 * `client.checkpoints` and the worker's `ctx.checkpoint()`: the
 * durable-execution extension's operations, checked before anything is sent.
 * Transport-neutral: HTTP serves them, and the gRPC transport reaches the
 * HTTP binding (ojs.v1 has no RPC for checkpoints).
 */
import { UnimplementedError, ValidationError } from "../model/errors.js";
import type { Checkpoint, CheckpointSaved } from "../model/checkpoint.js";
import type { JsonValue } from "../model/json.js";
import { checkValue, type Limits } from "../model/limits.js";
import type { CallOptions, Transport } from "../transport/transport.js";
import type { CallRunner } from "./admin.js";

type CheckpointOps = Required<Pick<Transport, "saveCheckpoint" | "getCheckpoint" | "deleteCheckpoint">>;

/** The transport's checkpoint operations, or UnimplementedError naming the one asked for. */
export function checkpointOps(transport: Transport, operation: string): CheckpointOps {
  const t = transport;
  if (!t.saveCheckpoint || !t.getCheckpoint || !t.deleteCheckpoint)
    throw new UnimplementedError(`${operation}: the ${t.name} transport has no checkpoint operations (durable-execution extension)`, { operation });
  return t as CheckpointOps;
}

/** A checkpoint's state must be JSON within the limits (1 MiB by default, the spec's cap). */
export function checkCheckpointState(limits: Readonly<Limits>, state: unknown, operation: string): JsonValue {
  if (state === undefined || typeof state === "function" || typeof state === "symbol" || typeof state === "bigint")
    throw new ValidationError("state: must be a JSON value", { operation, issues: [{ path: "state", message: "must be a JSON value" }] });
  try {
    checkValue(limits, state, "maxResultBytes", "state");
  } catch (e) {
    if (e instanceof ValidationError) e.operation = operation;
    throw e;
  }
  return state as JsonValue;
}

function requireJobId(id: unknown, operation: string): string {
  if (typeof id !== "string" || id === "") throw new ValidationError("jobId: must be a non-empty string", { operation, issues: [{ path: "jobId", message: "must be a non-empty string" }] });
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
