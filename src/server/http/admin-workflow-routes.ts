/**
 * GET /ojs/v1/admin/workflows: the workflows the server keeps, newest first,
 * in pages like every admin list. Not in the admin-api spec (it has no
 * workflow listing); the dashboard needs it to find workflows without knowing
 * their ids. One workflow is read at GET /ojs/v1/workflows/:id.
 */
import { pageToJson } from "../../codec/admin-api.js";
import { workflowToJson } from "../../codec/workflow.js";
import { ValidationError } from "../../model/errors.js";
import type { WorkflowState } from "../../model/workflow.js";
import { pageOf } from "../admin/views.js";
import type { ServerCore } from "../core.js";
import type { HttpRouter } from "./router.js";

const STATES: ReadonlySet<string> = new Set<WorkflowState>(["pending", "running", "completed", "failed", "cancelled"]);

export function registerAdminWorkflowRoutes(core: ServerCore, router: HttpRouter): void {
  router.on("GET", "/ojs/v1/admin/workflows", async (req) => {
    const state = req.query.get("state") || undefined;
    if (state !== undefined && !STATES.has(state))
      throw new ValidationError(`state: must be one of ${[...STATES].join(", ")}`, { issues: [{ path: "state", message: "must be a workflow state" }] });
    const num = (name: string): number | undefined => {
      const v = req.query.get(name);
      return v === null || v === "" ? undefined : Number(v);
    };
    const page = num("page");
    const perPage = num("per_page");
    const p = pageOf({ ...(page !== undefined ? { page } : {}), ...(perPage !== undefined ? { perPage } : {}) });
    const { items, total } = await core.workflows.list({
      ...(state ? { state: state as WorkflowState } : {}),
      offset: (p.page - 1) * p.perPage,
      limit: p.perPage,
    });
    return { status: 200, body: pageToJson({ items, total, page: p.page, perPage: p.perPage }, (v) => workflowToJson(v.workflow, { kind: v.kind })) };
  });
}
