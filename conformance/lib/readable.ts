/**
 * Reads a conformance case before it runs and names every part of it the
 * interpreter cannot check: an unknown key (in the case, a step, setup or
 * teardown, the assertions), an unknown action, a value of the wrong kind, a
 * matcher the language does not know, a case that asserts nothing. Such a case
 * is unreadable and fails as such: a check the interpreter skips for want of
 * understanding it must never count as a pass.
 *
 * The format is docs/test-case-reference.md of ojs-conformance, plus what the
 * official cases use beyond it (see docs/conformance.md): `capture`/`captures`,
 * `parallel_with`, `repeat`, `status_one_of`, `*_comment` notes, the
 * `preconditions` prose of three backpressure cases, `raw_body` (text sent
 * verbatim), the cross-step `equality` (cross-step.ts), and the `expect` form
 * of the durable-execution suite, read as the assertions it means (expect-form.ts).
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";
import { parsePath } from "./jsonpath.js";
import { readCrossStep } from "./cross-step.js";
import { withExpectRead } from "./expect-form.js";
import { matcherProblem, show } from "./matchers.js";

export interface Unreadable {
  /** Where: "case", "setup step-1", "step step-3", "step step-3 assertions.body". */
  where: string;
  /** The key (or key path) that cannot be read. */
  key: string;
  message: string;
}

const CASE_KEYS = new Set(["test_id", "level", "category", "name", "description", "spec_ref", "tags", "setup", "steps", "teardown", "preconditions"]);
const HTTP_ACTIONS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);
const ACTIONS = new Set([...HTTP_ACTIONS, "WAIT", "ASSERT"]);
const COMMON_STEP_KEYS = ["id", "action", "intent", "description", "delay_ms"];
const STEP_KEYS: Record<string, ReadonlySet<string>> = {
  HTTP: new Set([...COMMON_STEP_KEYS, "path", "headers", "body", "raw_body", "assertions", "parallel_with", "repeat", "capture", "captures"]),
  // The reference runner ignores assertions on a WAIT step; here they are refused rather than left unchecked.
  WAIT: new Set([...COMMON_STEP_KEYS, "duration_ms"]),
  ASSERT: new Set([...COMMON_STEP_KEYS, "assertions"]),
};
const ASSERTION_KEYS = new Set(["status", "status_in", "status_one_of", "body", "body_absent", "body_contains", "headers", "timing_ms"]);
const TIMING_KEYS = new Set(["less_than", "greater_than", "approximate"]);

const isNote = (key: string, value: JsonValue | undefined) => key.endsWith("_comment") && typeof value === "string";
const isCount = (v: JsonValue | undefined, min: number) => typeof v === "number" && Number.isInteger(v) && v >= min;
const isStrings = (v: JsonValue | undefined): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** Every unreadable part of a case; empty when the interpreter can check all of it. */
export function readCase(original: JsonValue): Unreadable[] {
  const out: Unreadable[] = [];
  const bad = (where: string, key: string, message: string) => void out.push({ where, key, message });
  // The `expect` form is read as the assertions it means; what it cannot mean is unreadable.
  const { raw, problems } = withExpectRead(original);
  for (const p of problems) bad(p.where, p.key, p.message);
  if (!isJsonObject(raw)) {
    bad("case", "-", "a case must be a JSON object");
    return out;
  }
  for (const key of Object.keys(raw)) if (!CASE_KEYS.has(key)) bad("case", key, `unknown key "${key}"`);
  for (const key of ["test_id", "category", "name"]) if (typeof raw[key] !== "string") bad("case", key, `"${key}" must be a string`);
  for (const key of ["description", "spec_ref"]) if (raw[key] !== undefined && typeof raw[key] !== "string") bad("case", key, `"${key}" must be a string`);
  if (typeof raw.level !== "number" && typeof raw.level !== "string") bad("case", "level", `"level" must be a number or a string`);
  if (raw.tags !== undefined && !isStrings(raw.tags)) bad("case", "tags", `"tags" must be a list of strings`);
  // Prose saying what must hold before the case (the three official uses are set up by the case's own first step).
  if (raw.preconditions !== undefined && typeof raw.preconditions !== "string" && !isStrings(raw.preconditions))
    bad("case", "preconditions", `"preconditions" must be prose (a string or a list of strings), got ${show(raw.preconditions)}`);

  const ids = new Set<string>();
  const lists: Array<[string, JsonValue | undefined]> = [["step", raw.steps]];
  for (const part of ["setup", "teardown"] as const) {
    const p = raw[part];
    if (p === undefined) continue;
    if (!isJsonObject(p)) {
      bad("case", part, `"${part}" must be an object with "steps"`);
      continue;
    }
    for (const key of Object.keys(p)) if (key !== "steps") bad(part, key, `unknown key "${key}" in ${part}`);
    lists.push([part, p.steps]);
  }
  const allIds = new Set<string>();
  for (const [, steps] of lists) if (Array.isArray(steps)) for (const s of steps) if (isJsonObject(s) && typeof s.id === "string") allIds.add(s.id);
  let asserted = false;
  for (const [kind, steps] of lists) {
    if (!Array.isArray(steps) || (kind === "step" && steps.length === 0)) {
      bad(kind === "step" ? "case" : kind, "steps", kind === "step" ? "a case needs a non-empty list of steps" : `"${kind}.steps" must be a list`);
      continue;
    }
    const local = new Set(steps.map((s) => (isJsonObject(s) && typeof s.id === "string" ? s.id : "")));
    for (const s of steps) {
      if (!isJsonObject(s)) {
        bad(kind, "-", "a step must be an object");
        continue;
      }
      const id = typeof s.id === "string" ? s.id : "?";
      if (typeof s.id !== "string" || s.id === "") bad(`${kind} ${id}`, "id", "a step needs a string id");
      else if (ids.has(s.id)) bad(`${kind} ${id}`, "id", `step id "${s.id}" is used twice`);
      ids.add(id);
      const n = readStep(s, `${kind} ${id}`, local, allIds, bad);
      if (kind === "step" && n > 0) asserted = true;
    }
  }
  if (Array.isArray(raw.steps) && raw.steps.length > 0 && !asserted) bad("case", "steps", "no step asserts anything: the case could not fail");
  return out;
}

type Bad = (where: string, key: string, message: string) => void;

/** Checks one step; returns how many assertions it makes. */
function readStep(s: JsonObject, where: string, siblings: ReadonlySet<string>, allIds: ReadonlySet<string>, bad: Bad): number {
  const action = s.action;
  if (typeof action !== "string" || !ACTIONS.has(action)) {
    bad(where, "action", `unknown action ${show(action)} (known: ${[...ACTIONS].join(", ")})`);
    return 0;
  }
  const kind = HTTP_ACTIONS.has(action) ? "HTTP" : action;
  const allowed = STEP_KEYS[kind]!;
  for (const key of Object.keys(s)) if (!allowed.has(key)) bad(where, key, `unknown key "${key}" for a ${action} step`);
  for (const key of ["intent", "description"]) if (s[key] !== undefined && typeof s[key] !== "string") bad(where, key, `"${key}" must be a string`);
  if (s.delay_ms !== undefined && !isCount(s.delay_ms, 0)) bad(where, "delay_ms", `"delay_ms" must be a whole number of milliseconds, got ${show(s.delay_ms)}`);
  if (kind === "WAIT") {
    if (s.duration_ms !== undefined && !isCount(s.duration_ms, 0))
      bad(where, "duration_ms", `"duration_ms" must be a whole number of milliseconds, got ${show(s.duration_ms)}`);
    return 0;
  }
  if (kind === "HTTP") {
    if (typeof s.path !== "string" || !s.path.startsWith("/")) bad(where, "path", `an HTTP step needs a path starting with "/", got ${show(s.path)}`);
    if (s.headers !== undefined && (!isJsonObject(s.headers) || !Object.values(s.headers).every((v) => typeof v === "string")))
      bad(where, "headers", `request "headers" must be an object of strings, got ${show(s.headers)}`);
    if (s.repeat !== undefined && !isCount(s.repeat, 1)) bad(where, "repeat", `"repeat" must be a whole number >= 1, got ${show(s.repeat)}`);
    if (s.parallel_with !== undefined && (typeof s.parallel_with !== "string" || !siblings.has(s.parallel_with) || s.parallel_with === s.id))
      bad(where, "parallel_with", `"parallel_with" must name another step of the same list, got ${show(s.parallel_with)}`);
    if (s.raw_body !== undefined && typeof s.raw_body !== "string") bad(where, "raw_body", `"raw_body" must be the text to send, got ${show(s.raw_body)}`);
    if (s.raw_body !== undefined && s.body !== undefined) bad(where, "raw_body", 'a step sends either "body" or "raw_body", not both');
    for (const key of ["capture", "captures"]) {
      const c = s[key];
      if (c === undefined) continue;
      if (!isJsonObject(c) || !Object.values(c).every((p) => typeof p === "string" && readsAsPath(p)))
        bad(where, key, `"${key}" must map names to JSONPath expressions ("$..."), got ${show(c)}`);
    }
  }
  if (s.assertions === undefined) {
    if (kind === "ASSERT") bad(where, "assertions", "an ASSERT step needs assertions");
    return 0;
  }
  if (!isJsonObject(s.assertions)) {
    bad(where, "assertions", `"assertions" must be an object, got ${show(s.assertions)}`);
    return 0;
  }
  return kind === "ASSERT" ? readCrossStep(s.assertions, `${where} assertions`, allIds, bad) : readAssertions(s.assertions, `${where} assertions`, bad);
}

function readsAsPath(p: string): boolean {
  if (!p.startsWith("$")) return false;
  try {
    parsePath(p);
    return true;
  } catch {
    return false;
  }
}

function readAssertions(a: JsonObject, where: string, bad: Bad): number {
  let count = 0;
  for (const [key, v] of Object.entries(a)) {
    if (isNote(key, v)) continue;
    if (!ASSERTION_KEYS.has(key)) {
      bad(where, key, key === "body_raw" ? `"body_raw" is reserved by the reference and has no defined meaning` : `unknown assertion "${key}"`);
      continue;
    }
    count++;
    const at = `${where}.${key}`;
    switch (key) {
      case "status": {
        const p = matcherProblem(v!, "status");
        if (p) bad(at, key, p);
        break;
      }
      case "status_in":
      case "status_one_of":
        if (!Array.isArray(v) || v.length === 0 || !v.every((x) => isCount(x, 100)))
          bad(at, key, `"${key}" must be a non-empty list of status codes, got ${show(v)}`);
        break;
      case "body":
        if (!isJsonObject(v)) bad(at, key, `"body" must be an object of JSONPath: matcher, got ${show(v)}`);
        else readBody(v, at, bad);
        break;
      case "body_absent":
        if (!isStrings(v) || v.length === 0) bad(at, key, `"body_absent" must be a non-empty list of JSONPath expressions, got ${show(v)}`);
        else for (const p of v) if (!readsAsPath(p) && !p.includes("{{")) bad(at, p, `not a JSONPath expression: ${JSON.stringify(p)}`);
        break;
      case "body_contains":
        if (!isStrings(v) || v.length === 0) bad(at, key, `"body_contains" must be a non-empty list of strings, got ${show(v)}`);
        break;
      case "headers":
        if (!isJsonObject(v) || Object.keys(v).length === 0) bad(at, key, `"headers" must be an object of header name: value or matcher, got ${show(v)}`);
        else
          for (const [name, m] of Object.entries(v)) {
            if (isNote(name, m)) continue;
            const p = matcherProblem(m!, `header ${name}`);
            if (p) bad(at, name, p);
          }
        break;
      case "timing_ms": {
        const keys = isJsonObject(v) ? Object.keys(v) : [];
        if (!isJsonObject(v) || keys.length === 0) bad(at, key, `"timing_ms" must be an object of less_than / greater_than / approximate, got ${show(v)}`);
        else
          for (const k of keys) {
            if (!TIMING_KEYS.has(k)) bad(at, k, `unknown timing key "${k}" (known: ${[...TIMING_KEYS].join(", ")})`);
            else if (typeof v[k] !== "number") bad(at, k, `"${k}" must be a number of milliseconds, got ${show(v[k])}`);
          }
        break;
      }
    }
  }
  return count;
}

function readBody(body: JsonObject, where: string, bad: Bad): void {
  if (Object.keys(body).length === 0) bad(where, "body", "an empty body assertion checks nothing");
  for (const [path, m] of Object.entries(body)) {
    if (isNote(path, m)) continue;
    if (path === "$or") {
      if (!Array.isArray(m) || m.length === 0 || !m.every(isJsonObject))
        bad(where, "$or", `a top-level "$or" needs a non-empty list of body assertions, got ${show(m)}`);
      else m.forEach((alt, i) => readBody(alt as JsonObject, `${where}.$or[${i}]`, bad));
      continue;
    }
    if (path === "$empty") {
      if (typeof m !== "boolean") bad(where, "$empty", `a top-level "$empty" needs true or false, got ${show(m)}`);
      continue;
    }
    // Paths may carry {{templates}}, resolved when the step runs.
    if (!path.includes("{{") && !readsAsPath(path)) {
      bad(where, path, `not a JSONPath expression: ${JSON.stringify(path)}`);
      continue;
    }
    const p = matcherProblem(m!, path);
    if (p) bad(where, path, p);
  }
}
