import type { EnqueueOptions, JobState, NormalizedJobRequest } from "./job.js";
import type { JsonValue } from "./json.js";

/** State of a workflow as a whole. */
export type WorkflowState = "pending" | "running" | "completed" | "failed" | "cancelled";
/** State of one workflow step. */
export type WorkflowStepState = "waiting" | "pending" | "active" | "completed" | "failed" | "cancelled";

/** One job of a workflow definition. */
export interface StepDefinition {
  type: string;
  args: JsonValue[];
  options?: EnqueueOptions;
}

/** A workflow as built by chain(), group() or batch(). */
export type WorkflowDefinition =
  | { kind: "chain"; name: string; steps: Array<StepDefinition | WorkflowDefinition> }
  | { kind: "group"; name: string; steps: Array<StepDefinition | WorkflowDefinition> }
  | {
      kind: "batch";
      name: string;
      steps: Array<StepDefinition | WorkflowDefinition>;
      callbacks: { onComplete?: StepDefinition; onSuccess?: StepDefinition; onFailure?: StepDefinition };
    };

/** A step of the flat graph every workflow is converted to. */
export interface DagStep {
  id: string;
  type: string;
  args: JsonValue[];
  dependsOn: string[];
  request: Omit<NormalizedJobRequest, "type" | "args">;
}

/** One step of a running workflow. */
export interface WorkflowStepStatus {
  id: string;
  type: string;
  state: WorkflowStepState;
  jobId?: string;
  dependsOn: string[];
  jobState?: JobState;
}

/** A workflow as the server reports it. */
export interface Workflow {
  id: string;
  name: string;
  state: WorkflowState;
  steps: WorkflowStepStatus[];
  createdAt?: Date;
  completedAt?: Date;
}
