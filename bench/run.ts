/**
 * npm run bench [-- --quick] [--save] [--profile] [--rounds=N] [--only=grpc,grpc-standard,http,bullmq,ojs-journal,ojs-postgres,bullmq-aof,graphile-worker,pg-boss]
 *                [--scenarios=latency,throughput,enqueue,rss,reclaim,restart] [--restart-jobs=N]
 *
 * Runs the ceiling (bare node:http2), every scenario for OJS over gRPC, OJS
 * over HTTP and BullMQ on the memory store, and the durable systems (durable.ts:
 * our journal and PostgreSQL stores, BullMQ with appendfsync always,
 * graphile-worker, pg-boss), each system in its own processes on loopback, in
 * rounds (rounds.ts): the noise-prone scenarios (dispatch latency, one worker,
 * enqueue) and the ceiling run once per round, the systems in another order
 * each round and in fresh processes, and every figure is the median of its
 * rounds; RSS and lease reclaim run in the first round only. Then the journal
 * restart figure. Writes latest.{json,md} and chart.svg into
 * bench/results/local/ (git-ignored), or into the committed bench/results/ with
 * --save. A subset (--only, --scenarios) writes bench/results/partial/ instead;
 * with --profile, the server and SDK processes also write V8 CPU profiles, into
 * bench/results/profiles/.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LABEL } from "./backends.js";
import type { CeilingResult } from "./ceiling.js";
import { FULL, QUICK, type DriverName, type ScenarioName, type Sizes } from "./common.js";
import { DURABLE, durableScenarios, isDurable, sizesFor, stopCluster } from "./durable.js";
import type { RestartResult } from "./journal-restart.js";
import { gitState, loadAverage, machineInfo } from "./machine.js";
import { ceiling, runScenario, summary, type MeasureContext } from "./measure.js";
import { benchOutDir } from "./out-dir.js";
import { forkScript, installExitHandlers } from "./procs.js";
import { writeReports, type RunResults, type SystemResults } from "./report.js";
import { FIRST_ROUND_ONLY, mergeRounds, parseRounds, roundOrder, ROUNDED, type Failed } from "./rounds.js";
import { startSystem } from "./systems.js";
import { enqueueWireSizes } from "./wire.js";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const list = (name: string) =>
  argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split("=")[1]
    ?.split(",");
const quick = flag("quick");
const sizes: Sizes = quick ? QUICK : FULL;
const drivers = (list("only") ?? ["grpc", "grpc-standard", "http", "bullmq", ...DURABLE]) as DriverName[];
const scenarios = (list("scenarios") ?? ["latency", "throughput", "enqueue", "rss", "reclaim"]) as Array<Exclude<ScenarioName, "produce">>;
// How many rounds of the noise-prone scenarios (rounds.ts: DEFAULT_ROUNDS unless --rounds=N).
const rounds = parseRounds(argv, quick);
// Start-up on a journal of a million jobs (issue 11: <= 5 s); a smaller journal in --quick.
const restartJobs = Number(argv.find((a) => a.startsWith("--restart-jobs="))?.split("=")[1] ?? (quick ? 100_000 : 1_000_000));
const runRestart = drivers.includes("ojs-journal") && (!list("scenarios") || list("scenarios")!.includes("restart"));
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const profileDir = flag("profile") ? `${resultsDir}profiles` : undefined;
// The committed latest.* is always a complete run, replaced only when asked (--save).
const outDir = benchOutDir(argv, resultsDir);
const timeoutMs = quick ? 60_000 : 900_000;
const log = (s: string) => console.error(`[bench] ${s}`);
const ctx: MeasureContext = { timeoutMs, profileDir, log };

installExitHandlers();
const began = Date.now();

type Scenario = Exclude<ScenarioName, "produce">;
type Measured = Record<string, unknown> | Failed;
/** What one system measured so far: each rounded scenario's result per round, the others once. */
interface Collected {
  skipped?: string;
  rounds: Map<Scenario, Measured[]>;
  once: Map<Scenario, Measured>;
}

/** The scenarios `driver` runs in round `k`: the noise-prone ones every round, the others (rss, reclaim) in the first only. */
function scenariosOf(driver: DriverName, k: number): Scenario[] {
  if (k > 0 && FIRST_ROUND_ONLY.includes(driver)) return [];
  const own = isDurable(driver) ? durableScenarios(driver, scenarios) : scenarios.filter((s) => s !== "reclaim" && (s as string) !== "restart");
  return own.filter((s) => ROUNDED.includes(s) || k === 0);
}

const roundTag = (k: number) => (rounds > 1 ? `-r${k + 1}` : "");
const roundLog = (k: number) => (rounds > 1 ? `[${k + 1}/${rounds}] ` : "");

/** Round `k` of one system: fresh processes (server or Redis, database), its scenarios, then everything stopped. */
async function systemRound(driver: DriverName, k: number, results: RunResults, c: Collected): Promise<void> {
  const todo = scenariosOf(driver, k);
  if (c.skipped || !todo.length) return;
  const record = (s: Scenario, r: Measured) => (ROUNDED.includes(s) ? c.rounds.set(s, [...(c.rounds.get(s) ?? []), r]) : c.once.set(s, r));
  if (isDurable(driver)) log(`${roundLog(k)}${LABEL[driver]}: starting...`);
  const profile = profileDir ? { dir: profileDir, name: `server-${driver}-${scenarios.join("+")}${roundTag(k)}` } : undefined;
  const started = await startSystem(driver, k, log, profile).catch((e: unknown) => ({
    failed: `could not start: ${e instanceof Error ? e.message : String(e)}`,
  }));
  if ("skipped" in started && k === 0) {
    // Missing binaries do not come back in a later round: said once, and the system is left out.
    c.skipped = started.skipped;
    log(`${LABEL[driver]} skipped: ${started.skipped}`);
    return;
  }
  // A system that ran in the first round and cannot start in a later one: that round failed, the others stand.
  if ("skipped" in started || "failed" in started) {
    const why = "skipped" in started ? started.skipped : started.failed;
    for (const s of todo) record(s, { error: why });
    log(`${roundLog(k)}${LABEL[driver]} FAILED: ${why}`);
    return;
  }
  if (started.version) {
    if (driver === "bullmq") results.redis = started.version;
    else (results.versions ??= {})[driver] = started.version;
  }
  const runSizes = isDurable(driver) ? sizesFor(driver, sizes, quick) : sizes;
  if (isDurable(driver)) (results.durableSizes ??= {})[driver] = runSizes;
  try {
    for (const s of todo) {
      const t0 = Date.now();
      log(`${roundLog(k)}${LABEL[driver]}: ${s}...`);
      const r = await runScenario(ctx, driver, started.backend, s, runSizes, `${driver}-${s}${roundTag(k)}`);
      record(s, r);
      log(`  ${"error" in r ? `FAILED: ${String(r.error)}` : summary(s, r)}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    }
  } finally {
    await started.stop();
  }
}

/** A system's figures from its rounds: each rounded scenario the median of its rounds (rounds.ts), the others as measured. */
function assemble(driver: DriverName, c: Collected): SystemResults | { skipped: string } {
  if (c.skipped) return { skipped: c.skipped };
  const out: Record<string, unknown> = {};
  for (const s of scenariosOf(driver, 0)) {
    const r = ROUNDED.includes(s) ? mergeRounds(c.rounds.get(s) ?? []) : c.once.get(s);
    if (r) out[s] = r;
  }
  return out as SystemResults;
}

async function measureCeiling(k: number): Promise<CeilingResult | Failed> {
  log(
    `${roundLog(k)}ceilings: bare node:http2, ${enqueueWireSizes().requestBytes} B requests / ${enqueueWireSizes().responseBytes} B responses, a stream per call and pipelined on one stream`,
  );
  try {
    const t0 = Date.now();
    const c = await ceiling(ctx, sizes);
    log(`  stream per call: ${Math.round(c.modes.sequential?.perSec ?? 0)}/s sequential, ${Math.round(c.modes.c32?.perSec ?? 0)}/s with 32 in flight`);
    log(
      `  pipelined: ${Math.round(c.pipelined?.sequential?.perSec ?? 0)}/s sequential, ${Math.round(c.pipelined?.c32?.perSec ?? 0)}/s with 32 in flight  [${((Date.now() - t0) / 1000).toFixed(1)} s]`,
    );
    return c;
  } catch (e) {
    log(`ceiling failed: ${String(e)}`);
    return { error: String(e) };
  }
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const results: RunResults = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
    machine: machineInfo(),
    loadBefore: loadAverage(),
    git: gitState(),
    sizes,
    wire: enqueueWireSizes(),
    rounds,
    roundOrder: [],
    systems: {},
  };

  const collected = new Map<DriverName, Collected>(drivers.map((d) => [d, { rounds: new Map(), once: new Map() }]));
  const ceilings: Array<CeilingResult | Failed> = [];
  for (let k = 0; k < rounds; k++) {
    // What has nothing to run in this round (pg-boss after the first) is left out of its order and log.
    const order = roundOrder<DriverName | "ceiling">(["ceiling", ...drivers], k).filter((d) => d === "ceiling" || scenariosOf(d, k).length);
    results.roundOrder!.push(order);
    if (rounds > 1) log(`round ${k + 1} of ${rounds}: ${order.join(", ")}`);
    for (const item of order) {
      if (item === "ceiling") ceilings.push(await measureCeiling(k));
      else await systemRound(item, k, results, collected.get(item)!);
    }
  }
  await stopCluster();
  const c = mergeRounds(ceilings);
  if ("error" in c) results.ceilingError = c.error;
  else results.ceiling = c;
  for (const d of drivers) results.systems[d] = assemble(d, collected.get(d)!);

  if (runRestart) results.restart = await restartFigure();

  results.durationSec = Math.round((Date.now() - began) / 100) / 10;
  results.loadAfter = loadAverage();
  const files = writeReports(results, outDir);
  log(`done in ${results.durationSec} s: ${files.join(", ")}`);
}

/** Start-up of a server on a journal of `restartJobs` queued jobs, in its own process (journal-restart.ts). */
async function restartFigure(): Promise<RestartResult | { error: string }> {
  log(`journal restart: filling a journal with ${restartJobs.toLocaleString("en-US")} jobs, then starting a server on it...`);
  const t0 = Date.now();
  const profile = profileDir ? `${profileDir}/journal-restart-start.cpuprofile` : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const child = forkScript("journal-restart.ts", [String(restartJobs), ...(profile ? [profile] : [])]);
  try {
    const r = await child.next<RestartResult>("result", 1_800_000);
    log(
      `  start-up ${(r.startMs / 1000).toFixed(2)} s (CPU ${((r.startCpuMs ?? NaN) / 1000).toFixed(2)} s) on ${r.jobs.toLocaleString("en-US")} jobs (${(r.journalBytes / 2 ** 20).toFixed(0)} MiB)  [${((Date.now() - t0) / 1000).toFixed(1)} s]`,
    );
    return r;
  } catch (e) {
    log(`  FAILED: ${String(e)}`);
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    await child.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
