/**
 * Pure decisions of the state machine: functions of a job or worker record and
 * the clock, with no state of their own, so that any store (the in-process one,
 * a database one) decides the same way. docs/stores.md lists them.
 */
import { ValidationError } from "../../model/errors.js";
import type { NormalizedJobRequest } from "../../model/job.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import type { WorkerDirective } from "../../model/system.js";
import type { WorkerInfo } from "./records.js";

/** UQ §2.2: what the schema cannot check because it depends on the job. */
export function checkUniquePolicy(u: NonNullable<NormalizedJobRequest["unique"]>, args: JsonValue[]): void {
  const fail = (path: string, message: string) => {
    throw new ValidationError(`options.unique.${path}: ${message}`, { code: "validation_error", issues: [{ path: `options.unique.${path}`, message }] });
  };
  if (u.keys?.includes("meta") && !u.metaKeys?.length) fail("meta_keys", 'must name the meta keys when "meta" is one of the keys');
  if (u.argsKeys?.length && u.keys?.includes("args")) {
    const first = args[0];
    if (!isJsonObject(first)) fail("args_keys", "needs the first argument to be an object");
    const missing = u.argsKeys.filter((k) => !(k in (first as JsonObject)));
    if (missing.length) fail("args_keys", `names keys the args do not have: ${missing.join(", ")}`);
  }
}

/** Reported states beyond the three directives: "drain" and its spellings from the graceful-shutdown extension. */
export function normalizeWorkerState(s: string): string {
  const v = s.toLowerCase();
  if (v === "draining" || v === "shutting_down" || v === "stopping") return "drain";
  return v;
}

export function fetchAllowed(w: WorkerInfo): boolean {
  return w.directive === "running" && (w.state === "running" || w.state === "");
}

/** A worker that says it is terminating stays told to terminate; otherwise the operator's word holds. */
export function directiveFor(w: WorkerInfo): WorkerDirective {
  if (w.state === "terminate" || w.directive === "terminate") return "terminate";
  return w.directive;
}

export function isWorkerDirective(v: unknown): v is WorkerDirective {
  return v === "running" || v === "quiet" || v === "terminate";
}
