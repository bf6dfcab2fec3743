/**
 * Runs loaded cases over HTTP and gRPC, each against its own fresh embedded
 * server so that concurrent cases never share queues, and classifies every run
 * through the one policy table (policy.ts).
 */
import { startServer, type OjsServer } from "../../src/server/index.js";
import { caseKey, type LoadedCase } from "./cases.js";
import { GrpcExecutor } from "./grpc-executor.js";
import { HttpExecutor } from "./http-executor.js";
import { defaultRunOptions, runCase, type CaseOutcome, type Executor } from "./interpreter.js";
import { grpcGapReason, grpcNotApplicable, KNOWN_FAILURES, TIGHT_TIMING, unexplainedFailures, unsupportedReason } from "./policy.js";
import { storeForCase, type StoreKind } from "./store.js";

export type Protocol = "http" | "grpc";

export type RunStatus =
  /** Every assertion held. */
  | "pass"
  /** Some assertion failed. */
  | "fail"
  /** Failed exactly as a documented case defect or disagreement says it must (the same assertions, the same values). */
  | "known_failure"
  /** Listed as a known failure but passed: the list is out of date. */
  | "unexpected_pass"
  /** Cannot be expressed over this protocol (gRPC only), with the reason. */
  | "not_applicable"
  /** An extension the server does not offer. */
  | "unsupported"
  /** The case has a part the interpreter cannot check: a failure of the case or of the interpreter, never a pass. */
  | "unreadable";

export interface CaseRun {
  c: LoadedCase;
  protocol: Protocol;
  /** The store behind the case's server. */
  store: StoreKind;
  status: RunStatus;
  outcome: CaseOutcome | undefined;
  reason: string | undefined;
}

export interface SuiteOptions {
  protocols: Protocol[];
  /** Every case runs once per protocol and store; the memory store alone by default. */
  stores?: StoreKind[];
  /** Cases running at once. */
  concurrency: number;
  tolerancePct: number;
  onRun?: (r: CaseRun) => void;
}

/** The spec's default reservation (WP: 1800 s): the cron overlap case holds a job for over a minute. */
const SPEC_VISIBILITY_MS = 1_800_000;

/** Rough length of a case from its waits, to start the longest ones first. */
export function expectedMs(c: LoadedCase): number {
  let total = 0;
  for (const s of [...(c.tc.setup?.steps ?? []), ...c.tc.steps]) total += (s.delay_ms ?? 0) + (s.duration_ms ?? 0);
  return total;
}

async function withServer<T>(kind: StoreKind, fn: (server: OjsServer) => Promise<T>): Promise<T> {
  const store = await storeForCase(kind);
  const server = await startServer({ port: 0, visibilityTimeoutMs: SPEC_VISIBILITY_MS, conformanceHooks: true, ...store.options });
  try {
    return await fn(server);
  } finally {
    await server.close();
    await store.cleanup();
  }
}

export async function runOne(c: LoadedCase, protocol: Protocol, tolerancePct = 50, store: StoreKind = "memory"): Promise<CaseRun> {
  const key = caseKey(c);
  const unsupported = unsupportedReason(c);
  if (unsupported) return { c, protocol, store, status: "unsupported", outcome: undefined, reason: unsupported };
  if (protocol === "grpc") {
    const na = grpcNotApplicable(c);
    if (na) return { c, protocol, store, status: "not_applicable", outcome: undefined, reason: na };
  }
  const outcome = await withServer(store, async (server) => {
    const ex: Executor = protocol === "http" ? new HttpExecutor(server.url) : new GrpcExecutor(server.url);
    try {
      return await runCase(c.tc, ex, { ...defaultRunOptions(), tolerancePct, checkHeaders: protocol === "http" });
    } finally {
      await ex.close();
    }
  });
  if (outcome.status === "unreadable") return { c, protocol, store, status: "unreadable", outcome, reason: undefined };
  const known = KNOWN_FAILURES[key];
  const knownHere = known && known.protocols.includes(protocol);
  if (outcome.status === "not_applicable") {
    // A step asserts what the gRPC contract cannot say, by a gap declared in policy.ts.
    const gap = protocol === "grpc" ? grpcGapReason(outcome.gap) : undefined;
    // "reason — detail": npm test groups skips by the reason and names the detail per test.
    if (gap) return { c, protocol, store, status: "not_applicable", outcome, reason: `${gap} — ${outcome.reason ?? ""}` };
    // An executor met a step it cannot express, and the case is not declared so: that is a failure of the declaration.
    outcome.failures.push({
      step: "-",
      field: "protocol",
      expected: "expressible",
      actual: "not applicable",
      message: `${outcome.reason}; declare it in conformance/lib/policy.ts with its reason`,
    });
    return { c, protocol, store, status: "fail", outcome, reason: outcome.reason };
  }
  if (outcome.status === "pass")
    return { c, protocol, store, status: knownHere ? "unexpected_pass" : "pass", outcome, reason: knownHere ? known.reason : undefined };
  if (!knownHere) return { c, protocol, store, status: "fail", outcome, reason: undefined };
  // A known failure is known by its documented reason, not by failing at all.
  const unexplained = unexplainedFailures(known, outcome.failures);
  if (unexplained) {
    outcome.failures.push({
      step: "-",
      field: "known failure",
      expected: "the failures its reason explains",
      actual: "other failures",
      message: `${unexplained} (conformance/lib/policy.ts: ${known.reason})`,
    });
    return { c, protocol, store, status: "fail", outcome, reason: undefined };
  }
  return { c, protocol, store, status: "known_failure", outcome, reason: known.reason };
}

/** A case that mostly waits (the cron overlap case: about 130 s): it does not keep the run busy. */
const SLEEPER_MS = 10_000;

export async function runSuite(cases: LoadedCase[], opts: SuiteOptions): Promise<CaseRun[]> {
  const stores = opts.stores ?? ["memory"];
  const all = stores.flatMap((store) => opts.protocols.flatMap((p) => cases.map((c) => ({ c, p, store }))));
  const tight = all.filter(({ c }) => TIGHT_TIMING[caseKey(c)] !== undefined);
  const jobs = all.filter(({ c }) => TIGHT_TIMING[caseKey(c)] === undefined);
  jobs.sort((a, b) => expectedMs(b.c) - expectedMs(a.c));
  const out: CaseRun[] = [];
  const record = async (c: LoadedCase, p: Protocol, store: StoreKind) => {
    const run = await runGuarded(c, p, opts.tolerancePct, store);
    out.push(run);
    opts.onRun?.(run);
  };
  let next = 0;
  // Cases under way that keep the process busy; when none is left and none waits, the run is quiet.
  let busy = 0;
  let onQuiet!: () => void;
  const quiet = new Promise<void>((resolve) => (onQuiet = resolve));
  const checkQuiet = () => {
    if (next >= jobs.length && busy === 0) onQuiet();
  };
  const worker = async () => {
    while (next < jobs.length) {
      const { c, p, store } = jobs[next++]!;
      const counts = expectedMs(c) < SLEEPER_MS;
      if (counts) busy++;
      await record(c, p, store);
      if (counts) busy--;
      checkQuiet();
    }
  };
  checkQuiet();
  // The tightly timed cases, one at a time per protocol and store, once only sleepers are left.
  const tightLane = quiet.then(() =>
    Promise.all(
      stores.flatMap((store) =>
        opts.protocols.map(async (p) => {
          for (const { c } of tight.filter((j) => j.p === p && j.store === store)) await record(c, p, store);
        }),
      ),
    ),
  );
  await Promise.all([...Array.from({ length: Math.max(1, Math.min(opts.concurrency, jobs.length)) }, worker), tightLane]);
  return out;
}

/** runOne, with a throw of the runner itself reported as the case's failure. */
async function runGuarded(c: LoadedCase, p: Protocol, tolerancePct: number, store: StoreKind): Promise<CaseRun> {
  try {
    return await runOne(c, p, tolerancePct, store);
  } catch (e) {
    return {
      c,
      protocol: p,
      store,
      status: "fail",
      outcome: {
        status: "fail",
        durationMs: 0,
        failures: [{ step: "-", field: "runner", expected: "a completed run", actual: String(e), message: (e as Error).stack ?? String(e) }],
      },
      reason: undefined,
    };
  }
}

/** A run that should make the suite fail: a real failure, or a known failure that no longer happens. */
export function isProblem(r: CaseRun): boolean {
  return r.status === "fail" || r.status === "unexpected_pass" || r.status === "unreadable";
}
