#!/usr/bin/env node
// Mutation checks for the worker's settle, backlog and shutdown paths: breaks
// the code on purpose, one targeted mutant at a time, runs the tests that
// protect that path, and expects them to go red. A mutant that survives (the
// tests stay green) means a path without a working test.
//
//   npm run mutants                 all mutants
//   npm run mutants -- late-jobs    only the named ones
//
// The mutated file is always restored: after each run, on failure, and on
// Ctrl-C or SIGTERM. A mutant whose code no longer appears in the source is
// reported as "stale" (and fails the run), so this list cannot silently rot.
// Not part of `npm test`: it takes a few minutes.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const WORKER = "src/worker/worker.ts";
const SETTLE = "src/worker/settle.ts";
const FAULTS = "test/e2e/worker-faults.test.ts";
const WORKER_TESTS = "test/e2e/worker.test.ts";

/**
 * Each mutant: the exact code it replaces, the test files to run, and the
 * tests that must notice (killers, by name). A mutant counts as killed only
 * when one of its killers fails: a red run caused by some other (timing-
 * sensitive) test on a loaded machine proves nothing about the mutant.
 */
const MUTANTS = [
  {
    name: "late-jobs",
    what: "a job received after stop() began is run instead of handed back",
    file: WORKER,
    find: 'if (this._state === "terminate" || this._state === "terminated") {',
    replace: "if (false) {",
    tests: [FAULTS],
    killers: /jobs that arrive after stop\(\) began/,
  },
  {
    name: "backlog-dropped",
    what: "releaseBacklog() drops the waiting jobs without handing them back",
    file: WORKER,
    find: "const waiting = this.backlog.splice(0);",
    replace: "this.backlog.splice(0); const waiting: typeof this.backlog = [];",
    tests: [FAULTS],
    killers: /wait in the backlog/,
  },
  {
    name: "backlog-kept",
    what: "shutdown never releases the backlog (waiting jobs wait for the drain)",
    file: WORKER,
    find: "    await this.releaseBacklog();\n",
    replace: "",
    tests: [FAULTS],
    killers: /wait in the backlog/,
  },
  {
    name: "ack-failure-nacked",
    what: "an ack that cannot be delivered is turned into a nack of the job",
    file: WORKER,
    find: 'else this.emit("job.settleFailed", { job, outcome: "ack", error: r.error });',
    replace: "else await this.fail(a, r.error);",
    tests: [FAULTS],
    killers: /an ack that fails is never turned into a nack/,
  },
  {
    name: "settled-twice",
    what: "a job already settled (cancelled, or failed after an ignored abort) is settled again when its handler returns",
    file: WORKER,
    find: "    // Already settled: cancelled, failed after an ignored abort, or failed at the end of the grace period.\n    if (a.settled) return;\n",
    replace: "",
    tests: [WORKER_TESTS, FAULTS],
    killers: /aborts the handler's signal at the worker's next heartbeat/,
  },
  {
    name: "leftovers-abandoned",
    what: "jobs still running at the end of the grace period are left to their visibility timeout, not failed with shutdown",
    file: WORKER,
    find: 'if (outcome !== "drained") {',
    replace: "if (false) {",
    tests: [FAULTS],
    killers: /what is left at the end of the grace period is failed with shutdown/,
  },
  {
    name: "no-drain",
    what: "stop() does not wait for running jobs (no grace period)",
    file: WORKER,
    find: 'const outcome = await Promise.race([drained.then(() => "drained" as const), graceOver, hard]);',
    replace: 'const outcome = await Promise.race([Promise.resolve("timeout" as const), drained.then(() => "drained" as const), graceOver, hard]);',
    tests: [FAULTS],
    killers: /heartbeats continue while draining|wait in the backlog/,
  },
  {
    name: "no-heartbeat-while-draining",
    what: "heartbeats stop as soon as shutdown begins",
    file: WORKER,
    find: "if (this.heartbeatTimer !== undefined) this.scheduleHeartbeat();",
    replace: 'if (this.heartbeatTimer !== undefined && this._state !== "terminate") this.scheduleHeartbeat();',
    tests: [FAULTS],
    killers: /heartbeats continue while draining/,
  },
  {
    name: "settle-no-retry",
    what: "ack and nack are tried once, never retried",
    file: SETTLE,
    find: "const attempts = opts.attempts ?? 6;",
    replace: "const attempts = 1;",
    tests: [FAULTS],
    killers: /an ack that fails is never turned into a nack|a nack that keeps failing/,
  },
];

const bin = join("node_modules", ".bin", "vitest");
const originals = new Map();
let child;

function restoreAll() {
  for (const [file, text] of originals) writeFileSync(file, text);
  originals.clear();
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (child) child.kill("SIGTERM");
    restoreAll();
    console.error(`\n${sig}: source restored`);
    process.exit(130);
  });
}
process.on("exit", restoreAll);

function runTests(files) {
  return new Promise((resolve) => {
    const started = Date.now();
    let output = "";
    child = spawn(bin, ["run", "--reporter=dot", ...files], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => {
      child = undefined;
      const failed = /Tests\s+.*?(\d+) failed/.exec(output.replace(/\x1b\[[0-9;]*m/g, ""));
      resolve({ code, seconds: Math.round((Date.now() - started) / 1000), failedTests: failed ? Number(failed[1]) : 0, output });
    });
  });
}

/** The names of the failed tests ("file > describe > test"), from vitest's output. */
function failedTests(output) {
  const clean = output.replace(/\x1b\[[0-9;]*m/g, "");
  return [...new Set([...clean.matchAll(/FAIL\s+(\S+ > .+?)\n/g)].map((m) => m[1].trim()))];
}

const only = process.argv.slice(2);
const chosen = only.length ? MUTANTS.filter((m) => only.includes(m.name)) : MUTANTS;
if (only.length && chosen.length !== only.length) {
  console.error(`unknown mutant(s): ${only.filter((n) => !MUTANTS.some((m) => m.name === n)).join(", ")}`);
  process.exit(2);
}

// The tests must be green on the unmutated code, or red under a mutant proves nothing.
const allFiles = [...new Set(chosen.flatMap((m) => m.tests))];
console.log(`baseline: ${allFiles.join(" ")}`);
let base = await runTests(allFiles);
if (base.code !== 0) {
  // One more try: on a shared 2-core machine a timing-sensitive test may fail once.
  console.log(`baseline red (${failedTests(base.output).join("; ")}); trying once more`);
  base = await runTests(allFiles);
}
if (base.code !== 0) {
  console.log(base.output);
  console.log("baseline is red twice: fix the tests before judging mutants");
  process.exit(1);
}
console.log(`baseline green (${base.seconds} s)\n`);

const rows = [];
for (const m of chosen) {
  const text = readFileSync(m.file, "utf8");
  const hits = text.split(m.find).length - 1;
  if (hits !== 1) {
    rows.push({ m, result: "STALE", detail: `${hits} matches of its code in ${m.file}`, seconds: 0 });
    continue;
  }
  originals.set(m.file, text);
  try {
    writeFileSync(m.file, text.replace(m.find, m.replace));
    const r = await runTests(m.tests);
    const failed = failedTests(r.output);
    const killers = failed.filter((t) => m.killers.test(t));
    const others = failed.length - killers.length;
    const detail = killers.length
      ? `${killers.length} red, e.g. "${killers[0].split(" > ").slice(1).join(" > ").slice(0, 80)}"`
      : r.code !== 0 && failed.length === 0
        ? "the run failed without a failed test (did it load?)"
        : "its killers stayed green";
    rows.push({ m, result: killers.length ? "killed" : "SURVIVED", detail: detail + (others ? ` (+${others} other red)` : ""), seconds: r.seconds });
  } finally {
    restoreAll();
  }
  const last = rows.at(-1);
  console.log(`${m.name}: ${last.result} (${last.seconds} s)`);
}

console.log("\n| mutant | what it breaks | tests run | result | s |");
console.log("|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.m.name} | ${r.m.what} (${r.m.file}) | ${r.m.tests.map((t) => t.replace(/^test\//, "")).join(", ")} | ${r.result}: ${r.detail} | ${r.seconds} |`,
  );
const bad = rows.filter((r) => r.result !== "killed");
console.log(`\n${rows.length - bad.length} of ${rows.length} mutants killed${bad.length ? `; not killed: ${bad.map((r) => r.m.name).join(", ")}` : ""}`);
process.exit(bad.length ? 1 : 0);
