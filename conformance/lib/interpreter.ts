/**
 * Runs one conformance case against an Executor (raw HTTP, or our gRPC
 * transport behind an HTTP-shaped adapter) and judges every assertion. The
 * interpreter knows the case format; executors know the wire.
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";
import type { Step, TestCase } from "./cases.js";
import { resolve, type Resolved } from "./jsonpath.js";
import { match, show, type MatchOptions } from "./matchers.js";
import { checkCrossStep } from "./cross-step.js";
import { withExpectRead } from "./expect-form.js";
import { readCase } from "./readable.js";
import { interpolate, resolveValue, type TemplateContext } from "./templates.js";

export interface StepRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The body as the case gives it (templates resolved); undefined when the step has none. */
  body: JsonValue | undefined;
  /** Text to send verbatim instead of a JSON body (`raw_body`: unparsable JSON on purpose), templates resolved. */
  rawBody?: string;
  step: Step;
}

export interface StepResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  text: string;
  /** The parsed JSON body, undefined when there is none or it is not JSON. */
  body: JsonValue | undefined;
  durationMs: number;
}

export interface Executor {
  readonly protocol: string;
  send(req: StepRequest): Promise<StepResponse>;
  close(): Promise<void>;
}

/** Thrown by an executor for a step its protocol cannot express. */
export class NotApplicable extends Error {
  override name = "NotApplicable";
  constructor(
    message: string,
    /** The contract gap (policy.ts GRPC_CONTRACT_GAPS) that makes the step inexpressible, when it is one. */
    readonly gap?: string,
  ) {
    super(message);
  }
}

export interface Failure {
  step: string;
  field: string;
  expected: string;
  actual: string;
  message: string;
}

/** "unreadable": the case has a part the interpreter cannot check (readable.ts); nothing was sent. */
export type CaseStatus = "pass" | "fail" | "not_applicable" | "unreadable";

export interface CaseOutcome {
  status: CaseStatus;
  failures: Failure[];
  durationMs: number;
  /** Why the case could not be expressed, for not_applicable. */
  reason?: string;
  /** The contract gap the executor named, for not_applicable. */
  gap?: string;
}

export interface RunOptions extends MatchOptions {
  /** Header assertions describe the HTTP binding; the gRPC adapter has no such headers to check. */
  checkHeaders: boolean;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export const defaultRunOptions = (): RunOptions => ({
  tolerancePct: 50,
  checkHeaders: true,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => performance.now(),
});

interface State extends TemplateContext {
  bodies: Map<string, JsonValue | undefined>;
  vars: Map<string, JsonValue>;
}

const ASSERTION_KEYS = new Set(["status", "status_in", "status_one_of", "body", "body_absent", "body_contains", "headers", "timing_ms"]);

export async function runCase(tc: TestCase, ex: Executor, opts: RunOptions = defaultRunOptions()): Promise<CaseOutcome> {
  const started = opts.now();
  const state: State = { bodies: new Map(), vars: new Map() };
  const failures: Failure[] = [];
  const done = (status: CaseStatus, reason?: string, gap?: string): CaseOutcome => ({
    status,
    failures,
    durationMs: Math.round(opts.now() - started),
    ...(reason ? { reason } : {}),
    ...(gap ? { gap } : {}),
  });
  // A case is read in full before anything is sent: what cannot be checked fails it as unreadable.
  const unreadable = readCase(tc as unknown as JsonValue);
  if (unreadable.length) {
    failures.push(
      ...unreadable.map((u) => ({ step: u.where, field: u.key, expected: "a readable case", actual: "unreadable", message: `unreadable: ${u.message}` })),
    );
    return done("unreadable");
  }
  // The `expect` form (expect-form.ts) runs as the assertions it means.
  tc = withExpectRead(tc as unknown as JsonValue).raw as unknown as TestCase;
  try {
    for (const step of tc.setup?.steps ?? []) {
      const f = await runStep(step, ex, state, opts);
      if (f.length) {
        failures.push(...f.map((x) => ({ ...x, message: `setup: ${x.message}` })));
        return done("fail");
      }
    }
    for (const group of groupSteps(tc.steps)) {
      const results = await Promise.all(group.map((s) => runStep(s, ex, state, opts)));
      for (const f of results) failures.push(...f);
    }
  } catch (e) {
    if (e instanceof NotApplicable) return done("not_applicable", e.message, e.gap);
    throw e;
  } finally {
    for (const step of tc.teardown?.steps ?? []) {
      // Teardown only cleans up; its outcome does not judge the case.
      await runStep(step, ex, state, opts).catch(() => []);
    }
  }
  return done(failures.length ? "fail" : "pass");
}

/**
 * Steps run in order, except that steps tied by parallel_with (and standing
 * next to each other) run at the same time, as concurrent fetches must.
 */
export function groupSteps(steps: Step[]): Step[][] {
  const tied = new Set<string>();
  for (const s of steps) {
    if (s.parallel_with) {
      tied.add(s.id);
      tied.add(s.parallel_with);
    }
  }
  const out: Step[][] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (tied.has(s.id) && last && last.length && tied.has(last[0]!.id)) last.push(s);
    else out.push([s]);
  }
  return out;
}

async function runStep(step: Step, ex: Executor, state: State, opts: RunOptions): Promise<Failure[]> {
  if (step.delay_ms && step.delay_ms > 0) await opts.sleep(step.delay_ms);
  const action = step.action.toUpperCase();
  if (action === "WAIT") {
    if (step.duration_ms && step.duration_ms > 0) await opts.sleep(step.duration_ms);
    return [];
  }
  const assertions = step.assertions ? (resolveValue(step.assertions, state) as JsonObject) : {};
  if (action === "ASSERT") return checkCrossStep(assertions, state.bodies).map((f) => fail(step.id, f.field, f.expected, f.actual, f.message));
  const times = Math.max(1, Math.floor(step.repeat ?? 1));
  const failures: Failure[] = [];
  for (let i = 0; i < times; i++) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = interpolate(String(v), state);
    const req: StepRequest = {
      method: action,
      path: interpolate(step.path ?? "/", state),
      headers,
      body: step.body === undefined ? undefined : resolveValue(step.body, state),
      ...(step.raw_body !== undefined ? { rawBody: interpolate(step.raw_body, state) } : {}),
      step,
    };
    const res = await ex.send(req);
    state.bodies.set(step.id, res.body);
    const label = times > 1 ? `${step.id}#${i + 1}` : step.id;
    failures.push(...checkResponse(label, assertions, res, state, opts));
    for (const [name, path] of Object.entries({ ...(step.capture ?? {}), ...(step.captures ?? {}) })) {
      const r = resolve(path, res.body);
      if (r.found && r.value !== undefined) state.vars.set(name, r.value);
    }
  }
  return failures;
}

function fail(step: string, field: string, expected: JsonValue | undefined, actual: JsonValue | undefined, message: string): Failure {
  return { step, field, expected: show(expected), actual: show(actual), message };
}

export function checkResponse(step: string, a: JsonObject, res: StepResponse, state: TemplateContext, opts: RunOptions): Failure[] {
  const out: Failure[] = [];
  for (const key of Object.keys(a)) {
    if (!ASSERTION_KEYS.has(key) && !key.endsWith("_comment")) out.push(fail(step, key, a[key], undefined, `unknown assertion "${key}"`));
  }
  if (a.status !== undefined) {
    const m = a.status;
    const err = match(m, { found: true, value: res.status }, opts);
    if (err) out.push(fail(step, "status", m, res.status, err));
  }
  for (const key of ["status_in", "status_one_of"]) {
    const list = a[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.includes(res.status))
      out.push(fail(step, "status", list, res.status, `expected a status in ${show(list)}, got ${res.status}`));
  }
  if (a.body !== undefined) {
    if (!isJsonObject(a.body)) out.push(fail(step, "body", a.body, undefined, "body assertions must be an object of path: matcher"));
    else out.push(...checkBody(step, a.body, res, opts));
  }
  if (Array.isArray(a.body_absent)) {
    for (const p of a.body_absent) {
      const path = interpolate(String(p), state);
      const r = resolve(path, res.body);
      if (r.found && r.value !== null) out.push(fail(step, path, "absent", r.value, "expected the field to be absent"));
    }
  }
  if (Array.isArray(a.body_contains)) {
    for (const sub of a.body_contains)
      if (!res.text.includes(String(sub))) out.push(fail(step, "body_contains", sub, undefined, `the body does not contain ${JSON.stringify(sub)}`));
  }
  if (isJsonObject(a.headers) && opts.checkHeaders) {
    for (const [name, m] of Object.entries(a.headers)) {
      const v = res.headers[name.toLowerCase()];
      const actual: Resolved = { found: v !== undefined, value: v };
      const err = typeof m === "string" ? (v === m ? undefined : `expected ${JSON.stringify(m)}, got ${show(v)}`) : match(m, actual, opts);
      if (err) out.push(fail(step, `header ${name}`, m, v, err));
    }
  }
  if (isJsonObject(a.timing_ms)) out.push(...checkTiming(step, a.timing_ms, res.durationMs, opts));
  return out;
}

function checkBody(step: string, body: JsonObject, res: StepResponse, opts: RunOptions): Failure[] {
  const out: Failure[] = [];
  for (const [path, m] of Object.entries(body)) {
    if (path === "$or") {
      const alts = Array.isArray(m) ? m : [];
      const ok = alts.some((alt) => isJsonObject(alt) && checkBody(step, alt, res, opts).length === 0);
      if (!ok) out.push(fail(step, "$or", m, res.body, "no $or alternative matched"));
      continue;
    }
    if (path === "$empty") {
      const err = match({ $empty: m }, { found: res.body !== undefined, value: res.body }, opts);
      if (err) out.push(fail(step, "$empty", m, res.body, err));
      continue;
    }
    let r: Resolved;
    try {
      r = resolve(path, res.body);
    } catch (e) {
      out.push(fail(step, path, m, undefined, (e as Error).message));
      continue;
    }
    const err = match(m, r, opts);
    if (err) out.push(fail(step, path, m, r.found ? r.value : undefined, err));
  }
  return out;
}

function checkTiming(step: string, t: JsonObject, ms: number, opts: RunOptions): Failure[] {
  const out: Failure[] = [];
  if (typeof t.less_than === "number" && !(ms < t.less_than)) out.push(fail(step, "timing", `< ${t.less_than} ms`, ms, `took ${ms} ms`));
  if (typeof t.greater_than === "number" && !(ms > t.greater_than)) out.push(fail(step, "timing", `> ${t.greater_than} ms`, ms, `took ${ms} ms`));
  if (typeof t.approximate === "number") {
    const tol = Math.max((t.approximate * opts.tolerancePct) / 100, 100);
    if (Math.abs(ms - t.approximate) > tol) out.push(fail(step, "timing", `${t.approximate} ± ${tol} ms`, ms, `took ${ms} ms`));
  }
  return out;
}
