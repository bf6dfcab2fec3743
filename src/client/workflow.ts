import type { EnqueueOptions } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import type { StepDefinition, WorkflowDefinition } from "../model/workflow.js";

/** A workflow step: one job, or a nested chain, group or batch. */
export type Step = StepDefinition | WorkflowDefinition;

/** One job of a workflow. */
export function step(type: string, args: JsonValue[] = [], options?: EnqueueOptions): StepDefinition {
  return options ? { type, args, options } : { type, args };
}

/**
 * Steps run one after another; each step gets the previous results in
 * `ctx.parentResults` (keyed by step index). A step that fails for good cancels the rest.
 *
 * ```ts
 * await client.workflow(chain("onboard", [step("user.create", [id]), step("email.welcome", [id])]));
 * ```
 */
export function chain(name: string, steps: Step[]): WorkflowDefinition {
  return { kind: "chain", name, steps };
}

/** Steps run in parallel and independently; the group fails if any of them fails. */
export function group(name: string, steps: Step[]): WorkflowDefinition {
  return { kind: "group", name, steps };
}

/**
 * Steps run in parallel; once all are finished the callbacks run: onComplete
 * always, onSuccess if none failed, onFailure if any failed (each exactly once).
 */
export function batch(
  name: string,
  steps: Step[],
  callbacks: { onComplete?: StepDefinition; onSuccess?: StepDefinition; onFailure?: StepDefinition },
): WorkflowDefinition {
  return { kind: "batch", name, steps, callbacks };
}
