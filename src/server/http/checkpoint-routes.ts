/**
 * HTTP binding of the durable-execution extension (ojs-durable-execution.md
 * §7): save, read and delete a job's checkpoint, and the checkpoint in the
 * envelope of a fetched job (§6.1). The checkpoints live where the jobs do,
 * behind the store seam (JobStore.checkpoints: store/checkpoints.ts in memory
 * and the journal, the ojs_checkpoints table on PostgreSQL). The spec saves with POST and the conformance suite
 * with PUT: both are served. An answer carries the checkpoint's fields at the
 * top (as the suite reads them) and under `checkpoint` (as the spec shows it).
 */
import { ConflictError, NotFoundError, ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { jsonSize, limitError, TOO_DEEP } from "../../model/limits.js";
import type { ServerCore } from "../core.js";
import type { CheckpointRecord } from "../store/checkpoints.js";
import type { JobRecord } from "../store/store.js";
import type { HttpRequest, HttpRouter } from "./router.js";
import { jobJson } from "./route-helpers.js";

const PATH = "/ojs/v1/jobs/:id/checkpoint";

function checkpointJson(c: CheckpointRecord, withState: boolean): JsonObject {
  const out: JsonObject = { job_id: c.jobId, sequence: c.sequence, created_at: c.createdAt.toISOString() };
  if (withState) out.state = c.state;
  return out;
}

/**
 * Fetched jobs as JSON, each with its checkpoint when it has one (§6.1: absent
 * otherwise): one lookup for all of them, so a database store asks once per fetch.
 */
export async function fetchedJobsJson(core: ServerCore, recs: readonly JobRecord[]): Promise<JsonObject[]> {
  if (recs.length === 0) return [];
  const cps = await core.jobs.checkpoints.of(recs.map((r) => r.id));
  return recs.map((rec) => {
    const out = jobJson(rec);
    const c = cps.get(rec.id);
    if (c) out.checkpoint = { state: c.state, sequence: c.sequence, created_at: c.createdAt.toISOString() };
    return out;
  });
}

export function registerCheckpointRoutes(core: ServerCore, router: HttpRouter): void {
  const store = core.jobs;
  const save = async (req: HttpRequest) => {
    const id = req.params.id!;
    const body = req.body;
    if (!isJsonObject(body) || !("state" in body))
      throw new ValidationError("state: required (the checkpoint, any JSON value)", { issues: [{ path: "state", message: "required" }] });
    const state = body.state as JsonValue;
    // §9.1: checkpoints are capped (1 MiB by default, limits.maxResultBytes), answered 413 (§4.2).
    const size = jsonSize(state, core.limits.maxDepth);
    if (size === TOO_DEEP) throw limitError("maxDepth", core.limits.maxDepth, "state");
    if (size > core.limits.maxResultBytes) {
      const e = limitError("maxResultBytes", core.limits.maxResultBytes, "state", size);
      throw new ValidationError(e.message, { code: "payload_too_large", details: e.details ?? {}, issues: e.issues });
    }
    // §4.2 (2): a worker that names itself must be the one holding the job.
    const workerId = body.worker_id;
    if (typeof workerId === "string" && workerId !== "") {
      const rec = await store.get(id);
      if (rec.job.state === "active" && rec.workerId !== undefined && rec.workerId !== workerId)
        throw new ConflictError(`cannot checkpoint job ${id}: it is reserved by another worker`, { jobId: id });
    }
    const c = await store.checkpoints.save(id, state);
    return { status: 200, body: { ...checkpointJson(c, false), checkpoint: checkpointJson(c, false) } };
  };
  router.on("PUT", PATH, save);
  router.on("POST", PATH, save);
  router.on("GET", PATH, async (req) => {
    const id = req.params.id!;
    const c = await store.checkpoints.get(id);
    if (!c) throw new NotFoundError(`job ${id} has no checkpoint`, { jobId: id, details: { job_id: id, reason: "no_checkpoint" } });
    const json = checkpointJson(c, true);
    return { status: 200, body: { ...json, checkpoint: json } };
  });
  // Idempotent (§4.4): deleting what is not there answers 200 with deleted: false.
  router.on("DELETE", PATH, async (req) => {
    const id = req.params.id!;
    const deleted = await store.checkpoints.delete(id);
    return { status: 200, body: { deleted, job_id: id } };
  });
}
