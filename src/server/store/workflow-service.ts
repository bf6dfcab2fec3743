/**
 * Workflows as the adapters reach them: promises, so that a store which keeps
 * workflows in a database (the PostgreSQL store, where the steps of one
 * workflow complete on different servers) fits beside the in-process engine.
 * The memory and journal stores answer through engineWorkflows(), the engine
 * itself; a JobStore with its own `workflows` replaces it (ServerCore.workflows).
 */
import type { DagStep, Workflow, WorkflowState } from "../../model/workflow.js";
import type { WorkflowEngine, WorkflowKind } from "./workflows.js";

/** A workflow and the shape it was created as (chain, group, batch or dag), which the HTTP answer names. */
export interface WorkflowView {
  workflow: Workflow;
  kind: WorkflowKind;
}

export interface WorkflowService {
  /** Validates the graph, stores the workflow and starts its root steps; nothing is kept if that fails. */
  create(name: string, kind: WorkflowKind, steps: readonly DagStep[]): Promise<WorkflowView>;
  /** Rejects with NotFoundError for an unknown (or forgotten) workflow. */
  get(id: string): Promise<WorkflowView>;
  /** Waiting and queued steps are cancelled; running ones finish. ConflictError when it is not running. */
  cancel(id: string): Promise<WorkflowView>;
  /** Newest first, optionally of one state: a page and how many matched. */
  list(opts: { state?: WorkflowState; offset: number; limit: number }): Promise<{ items: WorkflowView[]; total: number }>;
}

/** The in-process engine behind the promise shape (its answers are immediate). */
export function engineWorkflows(engine: WorkflowEngine): WorkflowService {
  const view = (workflow: Workflow): WorkflowView => ({ workflow, kind: engine.kindOf(workflow.id) });
  return {
    create: async (name, kind, steps) => ({ workflow: engine.create(name, kind, steps), kind }),
    get: async (id) => view(engine.get(id)),
    cancel: async (id) => view(engine.cancel(id)),
    list: async (opts) => {
      const { items, total } = engine.list(opts);
      return { items: items.map(view), total };
    },
  };
}
