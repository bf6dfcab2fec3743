/**
 * The durable-execution extension's checks, shared by `client.checkpoints`
 * and the worker's `ctx.checkpoint()` (both sit on transport/): which
 * transport can carry checkpoints, and what a checkpoint's state may be.
 */
import { UnimplementedError, ValidationError } from "../model/errors.js";
import type { JsonValue } from "../model/json.js";
import { checkValue, type Limits } from "../model/limits.js";
import type { Transport } from "./transport.js";

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
