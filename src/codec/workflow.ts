/**
 * Workflows in their three wire shapes, converted in one place:
 *   - typed definitions (chain / group / batch, nestable): what users build and
 *     what the HTTP binding carries;
 *   - the flat graph of steps with depends_on: what the gRPC proto carries and
 *     what the embedded server runs;
 *   - workflow status (JSON and proto) back into the domain Workflow.
 *
 * Flattening: step ids are positions ("0", "1", nested "1.0"); a chain step
 * depends on the previous step's exits; group members are independent; batch
 * callbacks are steps "on_complete" / "on_success" / "on_failure" that depend
 * on every member. A step's run condition follows from its id's last segment:
 * "on_complete" runs once its dependencies are terminal, whatever the outcome;
 * "on_failure" only if one of them failed; any other step only if all succeeded.
 */
import { create } from "@bufbuild/protobuf";
import { WorkflowStepSchema, type CreateWorkflowRequest, type Workflow as PbWorkflow } from "../../gen/ojs/v1/workflow_pb.js";
import { ValidationError } from "../model/errors.js";
import type { NormalizedJobRequest } from "../model/job.js";
import { isJsonObject, type JsonObject } from "../model/json.js";
import { normalizeJobRequest } from "../model/schemas.js";
import type { DagStep, StepDefinition, Workflow, WorkflowDefinition, WorkflowState, WorkflowStepState } from "../model/workflow.js";
import { jobRequestFromJson, requestToJson } from "./json.js";
import { optionsFromProto, optionsToProto, workflowFromProto } from "./proto.js";
import { formatInstant, parseInstant, valueFromJson, valueToJson } from "./values.js";

export type StepCondition = "success" | "complete" | "failure";

const CALLBACK_IDS = new Set(["on_complete", "on_success", "on_failure"]);

/** True for a batch callback step ("on_complete", "x.on_failure"...): not one of the batch's own jobs. */
export function isCallbackStep(id: string): boolean {
  return CALLBACK_IDS.has(id.slice(id.lastIndexOf(".") + 1));
}

export function stepCondition(id: string): StepCondition {
  const last = id.slice(id.lastIndexOf(".") + 1);
  if (last === "on_complete") return "complete";
  if (last === "on_failure") return "failure";
  return "success";
}

const MAX_DEPTH = 8;
const MAX_STEPS = 10_000;

function isDefinition(x: StepDefinition | WorkflowDefinition): x is WorkflowDefinition {
  return "kind" in x;
}

/** Typed definition -> flat graph. Validates every step like an enqueue; throws ValidationError naming the step. */
export function flattenWorkflow(def: WorkflowDefinition, now = Date.now()): { name: string; kind: WorkflowDefinition["kind"]; steps: DagStep[] } {
  const steps: DagStep[] = [];
  const walk = (d: WorkflowDefinition, prefix: string, deps: string[], depth: number): string[] => {
    if (depth > MAX_DEPTH) throw new ValidationError(`workflow nests deeper than ${MAX_DEPTH} levels`, { code: "invalid_workflow" });
    if (!Array.isArray(d.steps) || d.steps.length === 0)
      throw new ValidationError(`${prefix || "workflow"}: a ${d.kind} needs at least one step`, { code: "invalid_workflow" });
    const place = (s: StepDefinition | WorkflowDefinition, id: string, on: string[]): string[] => {
      if (isDefinition(s)) return walk(s, `${id}.`, on, depth + 1);
      if (steps.length >= MAX_STEPS) throw new ValidationError(`workflow has more than ${MAX_STEPS} steps`, { code: "invalid_workflow" });
      let req: NormalizedJobRequest;
      try {
        req = normalizeJobRequest({ type: s.type, args: s.args, options: s.options ?? {} }, now, "workflow");
      } catch (e) {
        if (e instanceof Error) e.message = `step ${id}: ${e.message}`;
        throw e;
      }
      const { type, args, ...request } = req;
      steps.push({ id, type, args, dependsOn: [...on], request });
      return [id];
    };
    if (d.kind === "chain") {
      let prev = deps;
      d.steps.forEach((s, i) => (prev = place(s, `${prefix}${i}`, prev)));
      return prev;
    }
    const exits = d.steps.flatMap((s, i) => place(s, `${prefix}${i}`, deps));
    if (d.kind === "group") return exits;
    const cbs = d.callbacks ?? {};
    const cbExits: string[] = [];
    for (const [key, id] of [
      ["onComplete", "on_complete"],
      ["onSuccess", "on_success"],
      ["onFailure", "on_failure"],
    ] as const) {
      const cb = cbs[key];
      if (cb) cbExits.push(...place(cb, `${prefix}${id}`, exits));
    }
    if (cbExits.length === 0) throw new ValidationError(`${prefix || "workflow"}: a batch needs at least one callback`, { code: "invalid_workflow" });
    return cbExits;
  };
  walk(def, "", [], 1);
  return { name: def.name, kind: def.kind, steps };
}

/** Checks a graph that arrived flat (gRPC): unique ids, known dependencies, no cycles. */
export function validateDag(steps: readonly DagStep[]): void {
  if (steps.length === 0) throw new ValidationError("workflow needs at least one step", { code: "invalid_workflow" });
  const ids = new Set<string>();
  for (const s of steps) {
    if (!s.id) throw new ValidationError("every workflow step needs an id", { code: "invalid_workflow" });
    if (ids.has(s.id)) throw new ValidationError(`step id "${s.id}" appears twice`, { code: "invalid_workflow" });
    ids.add(s.id);
  }
  for (const s of steps)
    for (const d of s.dependsOn) if (!ids.has(d)) throw new ValidationError(`step "${s.id}" depends on unknown step "${d}"`, { code: "invalid_workflow" });
  // Kahn's algorithm: whatever cannot be ordered is on a cycle.
  const indeg = new Map(steps.map((s) => [s.id, s.dependsOn.length]));
  const children = new Map<string, string[]>();
  for (const s of steps) for (const d of s.dependsOn) (children.get(d) ?? children.set(d, []).get(d)!).push(s.id);
  const ready = steps.filter((s) => s.dependsOn.length === 0).map((s) => s.id);
  let seen = 0;
  while (ready.length) {
    const id = ready.pop()!;
    seen++;
    for (const c of children.get(id) ?? []) {
      const n = indeg.get(c)! - 1;
      indeg.set(c, n);
      if (n === 0) ready.push(c);
    }
  }
  if (seen !== steps.length) throw new ValidationError("workflow steps depend on each other in a cycle", { code: "invalid_workflow" });
}

// --- typed JSON (HTTP binding) -------------------------------------------------------

function stepToJson(s: StepDefinition | WorkflowDefinition, now: number): JsonObject {
  if (isDefinition(s)) return definitionToJson(s, now);
  return requestToJson(normalizeJobRequest({ type: s.type, args: s.args, options: s.options ?? {} }, now, "workflow"));
}

/** The typed body of POST /ojs/v1/workflows. */
export function definitionToJson(def: WorkflowDefinition, now = Date.now()): JsonObject {
  const members = def.steps.map((s) => stepToJson(s, now));
  const o: JsonObject = { type: def.kind, name: def.name };
  if (def.kind === "chain") o.steps = members;
  else o.jobs = members;
  if (def.kind === "batch") {
    const cb: JsonObject = {};
    if (def.callbacks.onComplete) cb.on_complete = stepToJson(def.callbacks.onComplete, now);
    if (def.callbacks.onSuccess) cb.on_success = stepToJson(def.callbacks.onSuccess, now);
    if (def.callbacks.onFailure) cb.on_failure = stepToJson(def.callbacks.onFailure, now);
    o.callbacks = cb;
  }
  return o;
}

const KINDS = new Set(["chain", "group", "batch"]);

/** Parses a typed workflow body (server side). Shapes are checked here; step contents by flattenWorkflow. */
export function definitionFromJson(o: JsonObject, path = "workflow"): WorkflowDefinition {
  const kind = o.type;
  if (typeof kind !== "string" || !KINDS.has(kind))
    throw new ValidationError(`${path}.type: must be "chain", "group" or "batch"`, { code: "invalid_workflow" });
  const name = typeof o.name === "string" ? o.name : "";
  const list = kind === "chain" ? (o.steps ?? o.jobs) : (o.jobs ?? o.steps);
  if (!Array.isArray(list) || list.length === 0)
    throw new ValidationError(`${path}.${kind === "chain" ? "steps" : "jobs"}: must be a non-empty array`, { code: "invalid_workflow" });
  const steps = list.map((x, i) => stepFromJson(x, `${path}.${kind === "chain" ? "steps" : "jobs"}[${i}]`));
  if (kind === "batch") {
    const cbs = isJsonObject(o.callbacks) ? o.callbacks : {};
    const callbacks: Extract<WorkflowDefinition, { kind: "batch" }>["callbacks"] = {};
    if (isJsonObject(cbs.on_complete)) callbacks.onComplete = stepFromJson(cbs.on_complete, `${path}.callbacks.on_complete`) as StepDefinition;
    if (isJsonObject(cbs.on_success)) callbacks.onSuccess = stepFromJson(cbs.on_success, `${path}.callbacks.on_success`) as StepDefinition;
    if (isJsonObject(cbs.on_failure)) callbacks.onFailure = stepFromJson(cbs.on_failure, `${path}.callbacks.on_failure`) as StepDefinition;
    return { kind: "batch", name, steps, callbacks };
  }
  return { kind: kind as "chain" | "group", name, steps };
}

function stepFromJson(x: unknown, path: string): StepDefinition | WorkflowDefinition {
  if (!isJsonObject(x)) throw new ValidationError(`${path}: must be an object`, { code: "invalid_workflow" });
  if (typeof x.type === "string" && KINDS.has(x.type) && (Array.isArray(x.steps) || Array.isArray(x.jobs))) return definitionFromJson(x, path);
  const { request } = jobRequestFromJson(x);
  return { type: request.type, args: request.args, options: request.options };
}

export interface WorkflowStatusExtras {
  kind?: string;
  jobsCompleted?: number;
  jobsFailed?: number;
}

/**
 * Workflow status as the HTTP binding returns it; counters for both chain ("steps_*") and
 * group/batch ("jobs_*") readers. The jobs_* counters leave batch callbacks out: they
 * count the batch's own jobs, as the level-3 cases read them.
 */
export function workflowToJson(w: Workflow, extras: WorkflowStatusExtras = {}): JsonObject {
  const completed = w.steps.filter((s) => s.state === "completed").length;
  const members = w.steps.filter((s) => !isCallbackStep(s.id));
  const o: JsonObject = {
    id: w.id,
    name: w.name,
    state: w.state,
    steps_total: w.steps.length,
    steps_completed: completed,
    jobs_total: members.length,
    jobs_completed: extras.jobsCompleted ?? members.filter((s) => s.state === "completed").length,
    jobs_failed: extras.jobsFailed ?? members.filter((s) => s.state === "failed").length,
    steps: w.steps.map((s) => {
      const step: JsonObject = { id: s.id, type: s.type, state: s.state, depends_on: s.dependsOn };
      if (s.jobId) step.job_id = s.jobId;
      return step;
    }),
  };
  if (extras.kind) o.type = extras.kind;
  if (w.createdAt) o.created_at = formatInstant(w.createdAt);
  if (w.completedAt) o.completed_at = formatInstant(w.completedAt);
  return o;
}

const WF_STATES = new Set<WorkflowState>(["pending", "running", "completed", "failed", "cancelled"]);
const STEP_STATES = new Set<WorkflowStepState>(["waiting", "pending", "active", "completed", "failed", "cancelled"]);

export function workflowFromJson(o: JsonObject): Workflow {
  const state = String(o.state ?? "running");
  const w: Workflow = {
    id: String(o.id ?? ""),
    name: String(o.name ?? ""),
    state: WF_STATES.has(state as WorkflowState) ? (state as WorkflowState) : "running",
    steps: (Array.isArray(o.steps) ? o.steps : []).filter(isJsonObject).map((s) => {
      const st = String(s.state ?? "waiting");
      const step: Workflow["steps"][number] = {
        id: String(s.id ?? ""),
        type: String(s.type ?? ""),
        state: STEP_STATES.has(st as WorkflowStepState) ? (st as WorkflowStepState) : "waiting",
        dependsOn: Array.isArray(s.depends_on) ? s.depends_on.map(String) : [],
      };
      if (typeof s.job_id === "string" && s.job_id) step.jobId = s.job_id;
      return step;
    }),
  };
  const created = parseInstant(o.created_at);
  if (created) w.createdAt = created;
  const done = parseInstant(o.completed_at);
  if (done) w.completedAt = done;
  return w;
}

// --- proto (gRPC binding) ---------------------------------------------------------------

export function dagToProto(name: string, steps: readonly DagStep[], now = Date.now(), tunnel = true): Pick<CreateWorkflowRequest, "name" | "steps"> {
  return {
    name,
    steps: steps.map((s) =>
      create(WorkflowStepSchema, {
        id: s.id,
        type: s.type,
        args: s.args.map(valueFromJson),
        dependsOn: s.dependsOn,
        options: optionsToProto(s.request, now, tunnel),
      }),
    ),
  };
}

export function dagFromProto(req: Pick<CreateWorkflowRequest, "name" | "steps">, now = Date.now()): { name: string; steps: DagStep[] } {
  return {
    name: req.name,
    steps: req.steps.map((s) => ({
      id: s.id,
      type: s.type,
      args: s.args.map(valueToJson),
      dependsOn: [...s.dependsOn],
      request: optionsFromProto(s.options, now),
    })),
  };
}

export { workflowFromProto };
export type { PbWorkflow };
