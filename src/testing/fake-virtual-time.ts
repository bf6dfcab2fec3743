/**
 * Fake mode's virtual time for what a test enqueues: `delay` is measured from
 * the fake's clock instead of Date.now(), and inline mode runs everything now.
 */
import { toMillis } from "../model/duration.js";
import type { EnqueueOptions, JobRequest } from "../model/job.js";
import type { StepDefinition, WorkflowDefinition } from "../model/workflow.js";

/** `delay` measured from the virtual clock's now instead of Date.now(); anything invalid is left for validation to report. */
export function delayOnClock(o: EnqueueOptions, now: number): EnqueueOptions {
  if (o.delay === undefined || o.scheduledAt !== undefined) return o;
  const ms = toMillis(o.delay);
  if (ms === undefined) return o;
  const { delay: _d, ...rest } = o;
  return { ...rest, scheduledAt: new Date(now + ms) };
}

/** A request as it is enqueued on the fake's clock (`now`); inline mode drops delay and schedule. */
export function requestOnVirtualTime(r: JobRequest, inline: boolean, now: number): JobRequest {
  const o = r.options ?? {};
  if (inline) {
    // Inline mode runs every job now (TST §5.2): no delay, no schedule.
    if (o.delay === undefined && o.scheduledAt === undefined) return r;
    const { delay: _d, scheduledAt: _s, ...rest } = o;
    return { ...r, options: rest };
  }
  return { ...r, options: delayOnClock(o, now) };
}

/** A workflow definition with every step's `delay` measured from the fake's clock (`now`). */
export function workflowOnVirtualTime(def: WorkflowDefinition, now: number): WorkflowDefinition {
  const step = (s: StepDefinition): StepDefinition => (s.options ? { ...s, options: delayOnClock(s.options, now) } : s);
  const walk = (d: WorkflowDefinition): WorkflowDefinition => {
    const steps = d.steps.map((s) => ("kind" in s ? walk(s) : step(s)));
    if (d.kind !== "batch") return { ...d, steps };
    const cb = d.callbacks;
    const callbacks: typeof cb = {};
    if (cb.onComplete) callbacks.onComplete = step(cb.onComplete);
    if (cb.onSuccess) callbacks.onSuccess = step(cb.onSuccess);
    if (cb.onFailure) callbacks.onFailure = step(cb.onFailure);
    return { ...d, steps, callbacks };
  };
  // Malformed input is left for Client.workflow to reject with its usual message.
  return def && Array.isArray(def.steps) ? walk(def) : def;
}
