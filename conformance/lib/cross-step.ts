/**
 * ASSERT steps: checks across the responses of earlier steps, not of one
 * response. Two kinds, each read (readCrossStep) before anything is sent and
 * checked (checkCrossStep) when the step is reached:
 *
 *   - exclusive_claim {job_id, fetches: [...], exactly_one_has_job, exactly_one_empty}:
 *     of concurrent fetches, exactly one got the job / exactly one was empty;
 *   - equality {"$.steps.<id>.response.body<path>": value, ...}: the value at
 *     the left path equals the right value, usually a template such as
 *     "{{steps.<other>.response.body}}" (resolved before the check), as deep
 *     JSON equality. A left path that does not resolve fails; so does a right
 *     template that does not (it stays text and equals no body).
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";
import { parsePath, resolve } from "./jsonpath.js";
import { show } from "./matchers.js";

export interface CrossFailure {
  field: string;
  expected: JsonValue | undefined;
  actual: JsonValue | undefined;
  message: string;
}

type Bad = (where: string, key: string, message: string) => void;

const CLAIM_KEYS = new Set(["job_id", "fetches", "exactly_one_has_job", "exactly_one_empty"]);
export const CROSS_STEP_KINDS = ["exclusive_claim", "equality"] as const;
/** "$.steps.<id>.response.body", then any path into that body. */
const STEP_BODY = /^\$\.steps\.([^.[\]]+)\.response\.body(?:[.[].*)?$/;

const isNote = (key: string, value: JsonValue | undefined) => key.endsWith("_comment") && typeof value === "string";

/** Reads the assertions of an ASSERT step; returns how many checks they make. `steps` are the ids of the case's steps. */
export function readCrossStep(a: JsonObject, where: string, steps: ReadonlySet<string>, bad: Bad): number {
  let count = 0;
  for (const [key, v] of Object.entries(a)) {
    if (isNote(key, v)) continue;
    if (key === "exclusive_claim") {
      count++;
      readClaim(v, `${where}.exclusive_claim`, bad);
    } else if (key === "equality") {
      count++;
      readEquality(v, `${where}.equality`, steps, bad);
    } else bad(where, key, `unknown cross-step assertion "${key}" (known: ${CROSS_STEP_KINDS.join(", ")})`);
  }
  return count;
}

function readClaim(v: JsonValue | undefined, where: string, bad: Bad): void {
  if (!isJsonObject(v)) return bad(where, "exclusive_claim", `"exclusive_claim" must be an object, got ${show(v)}`);
  for (const k of Object.keys(v)) if (!CLAIM_KEYS.has(k)) bad(where, k, `unknown key "${k}"`);
  if (typeof v.job_id !== "string") bad(where, "job_id", `"job_id" must be a string, got ${show(v.job_id)}`);
  if (!Array.isArray(v.fetches) || v.fetches.length < 2) bad(where, "fetches", `"fetches" must list at least two fetch results, got ${show(v.fetches)}`);
  const claims = ["exactly_one_has_job", "exactly_one_empty"].filter((k) => v[k] !== undefined);
  for (const k of claims) if (v[k] !== true) bad(where, k, `"${k}" can only be true, got ${show(v[k])}`);
  if (claims.length === 0) bad(where, "exclusive_claim", "names neither exactly_one_has_job nor exactly_one_empty: it checks nothing");
}

function readEquality(v: JsonValue | undefined, where: string, steps: ReadonlySet<string>, bad: Bad): void {
  if (!isJsonObject(v) || Object.keys(v).filter((k) => !isNote(k, v[k])).length === 0)
    return bad(where, "equality", `"equality" must be an object of "$.steps.<id>.response.body...": value, got ${show(v)}`);
  for (const [left, right] of Object.entries(v)) {
    if (isNote(left, right)) continue;
    const m = STEP_BODY.exec(left);
    if (!m) {
      bad(where, left, `the left side must be a path "$.steps.<id>.response.body..." into an earlier response, got ${JSON.stringify(left)}`);
      continue;
    }
    try {
      parsePath(left);
    } catch (e) {
      bad(where, left, (e as Error).message);
      continue;
    }
    if (!steps.has(m[1]!)) bad(where, left, `names no step of the case: "${m[1]}"`);
    if (right === undefined) bad(where, left, "has no value to compare with");
  }
}

/** Deep JSON equality; numbers compare as numbers (1 and 1.0 are the same JSON number). */
export function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isJsonObject(a) || isJsonObject(b)) {
    if (!isJsonObject(a) || !isJsonObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
  }
  return a === b;
}

/** Checks the (templates resolved) assertions of an ASSERT step against the bodies of the steps run so far. */
export function checkCrossStep(a: JsonObject, bodies: ReadonlyMap<string, JsonValue | undefined>): CrossFailure[] {
  const out: CrossFailure[] = [];
  for (const key of Object.keys(a)) {
    if (!(CROSS_STEP_KINDS as readonly string[]).includes(key) && !key.endsWith("_comment"))
      out.push({ field: key, expected: a[key], actual: undefined, message: `unknown cross-step assertion "${key}"` });
  }
  if (isJsonObject(a.exclusive_claim)) out.push(...checkClaim(a.exclusive_claim));
  if (isJsonObject(a.equality)) out.push(...checkEquality(a.equality, bodies));
  return out;
}

function checkClaim(c: JsonObject): CrossFailure[] {
  const out: CrossFailure[] = [];
  const fetches = Array.isArray(c.fetches) ? c.fetches : [];
  const lists = fetches.map((f) => (Array.isArray(f) ? f : typeof f === "string" ? undefined : []));
  if (lists.some((l) => l === undefined)) {
    out.push({ field: "exclusive_claim.fetches", expected: c.fetches, actual: undefined, message: "a fetch result did not resolve to a list of jobs" });
    return out;
  }
  const hasJob = lists.map((l) => l!.some((j) => isJsonObject(j) && j.id === c.job_id));
  const empty = lists.map((l) => l!.length === 0);
  const count = (xs: boolean[]) => xs.filter(Boolean).length;
  if (c.exactly_one_has_job === true && count(hasJob) !== 1)
    out.push({
      field: "exclusive_claim.exactly_one_has_job",
      expected: true,
      actual: count(hasJob),
      message: `${count(hasJob)} fetches received job ${String(c.job_id)}`,
    });
  if (c.exactly_one_empty === true && count(empty) !== 1)
    out.push({ field: "exclusive_claim.exactly_one_empty", expected: true, actual: count(empty), message: `${count(empty)} fetches were empty` });
  return out;
}

function checkEquality(eq: JsonObject, bodies: ReadonlyMap<string, JsonValue | undefined>): CrossFailure[] {
  const out: CrossFailure[] = [];
  const steps: JsonObject = {};
  for (const [id, body] of bodies) if (body !== undefined) steps[id] = { response: { body } };
  const doc: JsonObject = { steps };
  for (const [left, right] of Object.entries(eq)) {
    if (isNote(left, right)) continue;
    const field = `equality ${left}`;
    const r = resolve(left, doc);
    if (!r.found) out.push({ field, expected: right, actual: undefined, message: `${left} does not resolve (no such step ran, or its body has no such path)` });
    else if (!sameJson(r.value, right)) out.push({ field, expected: right, actual: r.value, message: `${left} is ${show(r.value)}, expected ${show(right)}` });
  }
  return out;
}
