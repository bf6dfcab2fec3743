/** The durable-execution extension's answers over HTTP/JSON, in one place. */
import { isJsonObject, type JsonObject } from "../model/json.js";
import type { Checkpoint, CheckpointSaved, JobCheckpoint } from "../model/checkpoint.js";
import { parseInstant } from "./values.js";

/** The spec wraps the checkpoint in `checkpoint` (§4.1, §4.3); some servers answer it bare. */
function inner(o: JsonObject): JsonObject {
  return isJsonObject(o.checkpoint) ? o.checkpoint : o;
}

export function checkpointFromJson(o: JsonObject, jobId: string): Checkpoint {
  const c = inner(o);
  return {
    jobId: typeof c.job_id === "string" ? c.job_id : jobId,
    state: c.state === undefined ? null : c.state,
    sequence: typeof c.sequence === "number" ? c.sequence : 0,
    createdAt: parseInstant(c.created_at),
  };
}

export function checkpointSavedFromJson(o: JsonObject, jobId: string): CheckpointSaved {
  const c = inner(o);
  return {
    jobId: typeof c.job_id === "string" ? c.job_id : jobId,
    sequence: typeof c.sequence === "number" ? c.sequence : 0,
    createdAt: parseInstant(c.created_at),
  };
}

/** The `checkpoint` of a fetched job's envelope (§6.1), undefined when absent or unreadable. */
export function jobCheckpointFromJson(v: unknown): JobCheckpoint | undefined {
  if (!isJsonObject(v) || !("state" in v)) return undefined;
  return { state: v.state!, sequence: typeof v.sequence === "number" ? v.sequence : 0 };
}
