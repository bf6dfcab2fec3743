/**
 * ACK addressed by the job's path, `POST /ojs/v1/jobs/{id}/ack` (ojs-results.md
 * §10.1; the encryption and durable-execution cases complete jobs this way):
 * the same operation as `POST /ojs/v1/workers/ack`, with the id in the path
 * and `result` / `worker_id` in an optional body: through the store seam
 * (every store), and another tenant's job is not found, as there.
 */
import { ackResultToJson } from "../../codec/json.js";
import { ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonValue } from "../../model/json.js";
import type { ServerCore } from "../core.js";
import { checkWorkerValue } from "../shared.js";
import { checkVisible } from "../tenancy/jobs.js";
import { requestTenant } from "../tenancy/request.js";
import type { HttpRouter } from "./router.js";

export const JOB_ACK_PATH = "/ojs/v1/jobs/:id/ack";

export function registerJobAckRoute(core: ServerCore, router: HttpRouter): void {
  router.on("POST", JOB_ACK_PATH, async (req) => {
    // No body is an ACK without a result; a body that is there must be an object.
    if (req.body !== undefined && req.body !== null && !isJsonObject(req.body)) throw new ValidationError("request body must be a JSON object");
    const body = isJsonObject(req.body) ? req.body : {};
    const result = "result" in body ? (body.result as JsonValue) : undefined;
    checkWorkerValue(core, result, "result");
    const id = req.params.id!;
    checkVisible(id, (await core.jobs.get(id)).job.meta, requestTenant(core, req.raw));
    const rec = await core.jobs.ack(id, result, typeof body.worker_id === "string" ? body.worker_id : undefined);
    return { status: 200, body: ackResultToJson(rec.job, rec.extra) };
  });
}
