/**
 * Workflows as the store runs them: every chain, group and batch arrives as a
 * flat graph of steps with depends_on (codec/workflow.ts flattens the typed
 * shape; gRPC sends the graph itself). A step's job is created only when the
 * step becomes runnable, with the results of the steps it depends on in
 * parent_results; a step whose condition can no longer hold is skipped (shown as
 * cancelled), which is how a chain stops after a failure and how a batch
 * chooses between on_success and on_failure.
 */
import { isCallbackStep, stepCondition, validateDag } from "../../codec/workflow.js";
import { ConflictError, NotFoundError, OjsError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { uuidv7 } from "../../model/uuid.js";
import type { DagStep, Workflow, WorkflowState, WorkflowStepState } from "../../model/workflow.js";

export type WorkflowKind = "chain" | "group" | "batch" | "dag";

type Outcome = "completed" | "failed" | "cancelled" | "skipped";

export interface StepRecord {
  readonly id: string;
  readonly type: string;
  readonly args: JsonValue[];
  readonly dependsOn: string[];
  readonly request: Omit<NormalizedJobRequest, "type" | "args">;
  readonly dependents: string[];
  jobId: string | undefined;
  outcome: Outcome | undefined;
  result: JsonValue | undefined;
  error: JsonObject | undefined;
}

export interface WorkflowRecord {
  readonly id: string;
  readonly name: string;
  readonly kind: WorkflowKind;
  state: WorkflowState;
  readonly steps: Map<string, StepRecord>;
  readonly createdAt: Date;
  completedAt: Date | undefined;
  /** Steps without an outcome yet; the workflow ends when this reaches 0. */
  open: number;
  retired: boolean;
}

/** What the engine needs from the store, and nothing more. */
export interface WorkflowHost {
  now(): number;
  /** Atomic: every step's job is created, or none is and the call throws. */
  enqueueSteps(items: Array<{ req: NormalizedJobRequest; workflowId: string; stepId: string; parentResults?: JsonObject }>): Array<{ readonly id: string }>;
  /** Cancels a job unless it is finished or running (running steps are left to finish). */
  cancelJob(id: string): void;
  job(id: string): Job | undefined;
  emit(type: string, workflowId: string, data: JsonObject): void;
  /** The workflow's record changed or was forgotten (for a durable store). */
  changed?(workflowId: string): void;
}

export class WorkflowEngine {
  private workflows = new Map<string, WorkflowRecord>();
  /** Finished workflow ids, oldest first, for retention. */
  private finished: string[] = [];

  constructor(
    private readonly host: WorkflowHost,
    private readonly maxFinished: number,
  ) {}

  /** Validates the graph, stores the workflow and starts its root steps; nothing is kept if that fails. */
  create(name: string, kind: WorkflowKind, steps: readonly DagStep[]): Workflow {
    validateDag(steps);
    const now = this.host.now();
    const wf: WorkflowRecord = {
      id: uuidv7(now),
      name,
      kind,
      state: "running",
      steps: new Map(),
      createdAt: new Date(now),
      completedAt: undefined,
      open: steps.length,
      retired: false,
    };
    for (const s of steps)
      wf.steps.set(s.id, { ...s, dependsOn: [...s.dependsOn], dependents: [], jobId: undefined, outcome: undefined, result: undefined, error: undefined });
    for (const s of wf.steps.values()) for (const d of s.dependsOn) wf.steps.get(d)!.dependents.push(s.id);
    this.workflows.set(wf.id, wf);
    try {
      this.start(
        wf,
        [...wf.steps.values()].filter((s) => s.dependsOn.length === 0),
      );
    } catch (e) {
      this.workflows.delete(wf.id);
      throw e;
    }
    this.host.changed?.(wf.id);
    this.host.emit("workflow.created", wf.id, { name, type: kind, steps_total: steps.length });
    return this.view(wf);
  }

  get(id: string): Workflow {
    return this.view(this.record(id));
  }

  /**
   * Workflows newest first, optionally of one state: a page of them and how many
   * matched. Reads the bounded set the engine keeps (running plus retained finished).
   */
  list(opts: { state?: WorkflowState; offset: number; limit: number }): { items: Workflow[]; total: number } {
    const all = [...this.workflows.values()].filter((w) => opts.state === undefined || w.state === opts.state);
    const items: Workflow[] = [];
    for (let i = all.length - 1 - opts.offset; i >= 0 && items.length < opts.limit; i--) items.push(this.view(all[i]!));
    return { items, total: all.length };
  }

  kindOf(id: string): WorkflowKind {
    return this.record(id).kind;
  }

  /** Waiting and queued steps are cancelled; a step already running finishes but starts nothing after it. */
  cancel(id: string): Workflow {
    const wf = this.record(id);
    if (wf.state !== "running") throw new ConflictError(`workflow ${id} is already ${wf.state}`, { details: { state: wf.state } });
    wf.state = "cancelled";
    wf.completedAt = new Date(this.host.now());
    this.host.changed?.(wf.id);
    for (const s of wf.steps.values()) {
      if (s.outcome) continue;
      if (s.jobId) this.host.cancelJob(s.jobId);
      else this.settle(wf, s, "skipped");
    }
    this.host.emit("workflow.cancelled", wf.id, {});
    this.retire(wf);
    return this.view(wf);
  }

  /** Called by the store when a workflow job reaches a terminal state. */
  onJobFinished(workflowId: string, stepId: string, job: Job): void {
    const wf = this.workflows.get(workflowId);
    const step = wf?.steps.get(stepId);
    if (!wf || !step || step.outcome || step.jobId !== job.id) return;
    if (job.state === "completed") {
      step.result = job.result ?? null;
      this.settle(wf, step, "completed");
    } else if (job.state === "discarded") {
      const last = job.errors[job.errors.length - 1];
      step.error = last ? { code: last.code, message: last.message } : { code: "discarded", message: "the job was discarded" };
      this.settle(wf, step, "failed");
    } else {
      this.settle(wf, step, "cancelled");
    }
    if (wf.state === "running") this.advance(wf, step.dependents);
    this.maybeFinish(wf);
  }

  reset(): void {
    this.workflows.clear();
    this.finished = [];
  }

  /** For a durable store: the record as it is now (undefined once forgotten), and every record. */
  peek(id: string): WorkflowRecord | undefined {
    return this.workflows.get(id);
  }

  records(): IterableIterator<WorkflowRecord> {
    return this.workflows.values();
  }

  /** Replay: puts a recorded workflow back; retired ones rejoin the retention list. */
  restore(wf: WorkflowRecord): void {
    this.workflows.set(wf.id, wf);
    if (wf.retired) this.finished.push(wf.id);
  }

  private record(id: string): WorkflowRecord {
    const wf = this.workflows.get(id);
    if (!wf) throw new NotFoundError(`workflow ${id} not found`);
    return wf;
  }

  private settle(wf: WorkflowRecord, step: StepRecord, outcome: Outcome): void {
    if (step.outcome) return;
    step.outcome = outcome;
    wf.open--;
    this.host.changed?.(wf.id);
  }

  /**
   * Re-evaluates the given steps and everything a skip makes decidable, then
   * starts what became runnable as one batch. A worklist instead of recursion:
   * long chains must not grow the stack.
   */
  private advance(wf: WorkflowRecord, candidates: readonly string[]): void {
    const work = [...candidates];
    const runnable = new Set<StepRecord>();
    while (work.length) {
      const step = wf.steps.get(work.pop()!)!;
      if (step.outcome || step.jobId || runnable.has(step)) continue;
      const deps = step.dependsOn.map((d) => wf.steps.get(d)!);
      if (deps.some((d) => !d.outcome)) continue;
      const allSucceeded = deps.every((d) => d.outcome === "completed");
      const anyFailed = deps.some((d) => d.outcome === "failed" || d.outcome === "cancelled");
      const cond = stepCondition(step.id);
      const run = cond === "complete" || (cond === "success" ? allSucceeded : anyFailed);
      if (run) runnable.add(step);
      else {
        this.settle(wf, step, "skipped");
        work.push(...step.dependents);
      }
    }
    if (runnable.size) this.start(wf, [...runnable]);
  }

  private start(wf: WorkflowRecord, steps: StepRecord[]): void {
    if (steps.length === 0) return;
    const items = steps.map((s) => {
      const item: { req: NormalizedJobRequest; workflowId: string; stepId: string; parentResults?: JsonObject } = {
        req: { type: s.type, args: s.args, ...s.request },
        workflowId: wf.id,
        stepId: s.id,
      };
      if (s.dependsOn.length) item.parentResults = this.parentResults(wf, s);
      return item;
    });
    let jobs: Array<{ readonly id: string }>;
    try {
      jobs = this.host.enqueueSteps(items);
    } catch (e) {
      // Roots failing fails the creation; a later step that cannot be enqueued fails that step.
      if (wf.open === wf.steps.size && steps.every((s) => s.dependsOn.length === 0)) throw e;
      const err = e instanceof OjsError ? { code: e.code, message: e.message } : { code: "internal_error", message: String(e) };
      for (const s of steps) {
        s.error = err;
        this.settle(wf, s, "failed");
      }
      this.advance(
        wf,
        steps.flatMap((s) => s.dependents),
      );
      return;
    }
    steps.forEach((s, i) => (s.jobId = jobs[i]!.id));
    this.host.changed?.(wf.id);
  }

  /**
   * WF §7: results keyed by the producing step. A dotted id ("1.0", a job of a
   * group inside a chain) nests, so step 2 of a chain sees {"1": {"0": ..., "1": ...}}.
   * Failed steps contribute their error, as batch callbacks must see every outcome.
   */
  private parentResults(wf: WorkflowRecord, step: StepRecord): JsonObject {
    const out: JsonObject = {};
    for (const id of step.dependsOn) {
      const dep = wf.steps.get(id)!;
      let value: JsonValue;
      if (dep.outcome === "completed") value = dep.result ?? null;
      else if (dep.outcome === "failed") value = { error: dep.error ?? null };
      else continue;
      const path = id.split(".");
      let node = out;
      for (const seg of path.slice(0, -1)) {
        const next = node[seg];
        node = isJsonObject(next) ? next : (node[seg] = {});
      }
      node[path[path.length - 1]!] = value;
    }
    return out;
  }

  private maybeFinish(wf: WorkflowRecord): void {
    if (wf.open > 0 || wf.state !== "running") {
      if (wf.open === 0 && wf.state === "cancelled") this.retire(wf);
      return;
    }
    const outcomes = [...wf.steps.values()];
    if (outcomes.some((s) => s.outcome === "failed")) wf.state = "failed";
    else if (outcomes.some((s) => s.outcome === "cancelled" && !isCallbackStep(s.id))) wf.state = "cancelled";
    else wf.state = "completed";
    wf.completedAt = new Date(this.host.now());
    this.host.changed?.(wf.id);
    this.host.emit(`workflow.${wf.state}`, wf.id, {});
    this.retire(wf);
  }

  private retire(wf: WorkflowRecord): void {
    if (wf.retired) return;
    wf.retired = true;
    this.finished.push(wf.id);
    while (this.finished.length > this.maxFinished) {
      const old = this.workflows.get(this.finished[0]!);
      if (old && old.open > 0) break;
      const gone = this.finished.shift()!;
      this.workflows.delete(gone);
      this.host.changed?.(gone);
    }
  }

  private view(wf: WorkflowRecord): Workflow {
    const w: Workflow = {
      id: wf.id,
      name: wf.name,
      state: wf.state,
      createdAt: wf.createdAt,
      steps: [...wf.steps.values()].map((s) => {
        const job = s.jobId ? this.host.job(s.jobId) : undefined;
        const step: Workflow["steps"][number] = { id: s.id, type: s.type, state: stepState(s, job), dependsOn: [...s.dependsOn] };
        if (s.jobId) step.jobId = s.jobId;
        if (job) step.jobState = job.state;
        return step;
      }),
    };
    if (wf.completedAt) w.completedAt = wf.completedAt;
    return w;
  }
}

function stepState(s: StepRecord, job: Job | undefined): WorkflowStepState {
  switch (s.outcome) {
    case "completed":
      return "completed";
    case "failed":
      return "failed";
    case "cancelled":
    case "skipped":
      return "cancelled";
    default:
      if (!s.jobId) return "waiting";
      return job?.state === "active" ? "active" : "pending";
  }
}
