/**
 * The `expect` form of a step, which the durable-execution suite writes in
 * place of `assertions`:
 *
 *   "expect": { "status": 200, "status_in": [200, 404], "body.state.count": 2, "body.jobs[0].id": "${job_id}" }
 *
 * `status` and `status_in` mean what they mean in `assertions`; a key
 * `body.<path>` says that the value at that path of the response body equals
 * the given JSON value exactly (a literal, never a matcher: "pending" is the
 * string, and an object or array must be equal as a whole). The form is read
 * by turning it into the `assertions` it means, so that the one interpreter
 * checks both forms and a key it has no meaning for fails the case as
 * unreadable, never passes unchecked.
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";
import { parsePath } from "./jsonpath.js";

export interface FormProblem {
  where: string;
  key: string;
  message: string;
}

const BODY_KEY = /^body(?:\.|\[)/;

/** The assertions an `expect` object means, or the problems that keep it from meaning any. */
export function expectToAssertions(expect: JsonValue, where: string): { assertions?: JsonObject; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const bad = (key: string, message: string) => void problems.push({ where, key, message });
  if (!isJsonObject(expect) || Object.keys(expect).length === 0) {
    bad("expect", `"expect" must be an object of status / status_in / body.<path>: value, got ${JSON.stringify(expect)}`);
    return { problems };
  }
  const out: JsonObject = {};
  const body: JsonObject = {};
  for (const [key, v] of Object.entries(expect)) {
    if (key === "status" || key === "status_in") {
      out[key] = v!;
      continue;
    }
    if (key.endsWith("_comment") && typeof v === "string") continue;
    if (!BODY_KEY.test(key)) {
      bad(key, `unknown key "${key}" in "expect" (known: status, status_in, body.<path>)`);
      continue;
    }
    const path = `$${key.slice("body".length)}`;
    try {
      parsePath(path);
    } catch (e) {
      bad(key, `not a body path: ${(e as Error).message}`);
      continue;
    }
    // Exact equality: a literal of the expect form is never read as a matcher.
    body[path] = { $eq: v! };
  }
  if (Object.keys(body).length) out.body = body;
  return problems.length ? { problems } : { assertions: out, problems };
}

/**
 * A copy of a case whose steps say `assertions` wherever they said `expect`,
 * and the problems met. A step with both forms is a problem: which one holds?
 */
export function withExpectRead(raw: JsonValue): { raw: JsonValue; problems: FormProblem[] } {
  if (!isJsonObject(raw)) return { raw, problems: [] };
  const problems: FormProblem[] = [];
  const out: JsonObject = { ...raw };
  const lists: Array<[string, (steps: JsonValue[]) => void, JsonValue | undefined]> = [["step", (s) => void (out.steps = s), raw.steps]];
  for (const part of ["setup", "teardown"] as const) {
    const p = raw[part];
    if (isJsonObject(p)) lists.push([part, (s) => void (out[part] = { ...p, steps: s }), p.steps]);
  }
  for (const [kind, set, steps] of lists) {
    if (!Array.isArray(steps) || !steps.some((s) => isJsonObject(s) && "expect" in s)) continue;
    set(
      steps.map((s) => {
        if (!isJsonObject(s) || !("expect" in s)) return s;
        const where = `${kind} ${typeof s.id === "string" ? s.id : "?"}`;
        const { expect, ...rest } = s;
        if ("assertions" in s) {
          problems.push({ where, key: "expect", message: 'a step has either "expect" or "assertions", not both' });
          return rest;
        }
        const read = expectToAssertions(expect!, where);
        problems.push(...read.problems);
        return read.assertions ? { ...rest, assertions: read.assertions } : rest;
      }),
    );
  }
  return { raw: out, problems };
}
