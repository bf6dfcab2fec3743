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

/** Each mutant: the exact code it replaces, and the tests that must notice. */
const MUTANTS = [
  {
    name: "late-jobs",
    what: "a job received after stop() began is run instead of handed back",
    file: WORKER,
    find: 'if (this._state === "terminate" || this._state === "terminated") {',
    replace: "if (false) {",
    tests: [FAULTS],
  },
  {
    name: "backlog-dropped",
    what: "releaseBacklog() drops the waiting jobs without handing them back",
    file: WORKER,
    find: "const waiting = this.backlog.splice(0);",
    replace: "this.backlog.splice(0); const waiting: typeof this.backlog = [];",
    tests: [FAULTS],
  },
  {
    name: "backlog-kept",
    what: "shutdown never releases the backlog (waiting jobs wait for the drain)",
    file: WORKER,
    find: "    await this.releaseBacklog();\n",
    replace: "",
    tests: [FAULTS],
  },
  {
    name: "ack-failure-nacked",
    what: "an ack that cannot be delivered is turned into a nack of the job",
    file: WORKER,
    find: 'else this.emit("job.settleFailed", { job, outcome: "ack", error: r.error });',
    replace: "else await this.fail(a, r.error);",
    tests: [FAULTS],
  },
  {
    name: "settled-twice",
    what: "a job already settled (cancelled, or failed after an ignored abort) is settled again when its handler returns",
    file: WORKER,
    find: "    // Already settled: cancelled, failed after an ignored abort, or failed at the end of the grace period.\n    if (a.settled) return;\n",
    replace: "",
    tests: [WORKER_TESTS, FAULTS],
  },
  {
    name: "leftovers-abandoned",
    what: "jobs still running at the end of the grace period are left to their visibility timeout, not failed with shutdown",
    file: WORKER,
    find: 'if (outcome !== "drained") {',
    replace: "if (false) {",
    tests: [FAULTS],
  },
  {
    name: "no-drain",
    what: "stop() does not wait for running jobs (no grace period)",
    file: WORKER,
    find: 'const outcome = await Promise.race([drained.then(() => "drained" as const), graceOver, hard]);',
    replace: 'const outcome = await Promise.race([Promise.resolve("timeout" as const), drained.then(() => "drained" as const), graceOver, hard]);',
    tests: [FAULTS],
  },
  {
    name: "no-heartbeat-while-draining",
    what: "heartbeats stop as soon as shutdown begins",
    file: WORKER,
    find: "if (this.heartbeatTimer !== undefined) this.scheduleHeartbeat();",
    replace: 'if (this.heartbeatTimer !== undefined && this._state !== "terminate") this.scheduleHeartbeat();',
    tests: [FAULTS],
  },
  {
    name: "settle-no-retry",
    what: "ack and nack are tried once, never retried",
    file: SETTLE,
    find: "const attempts = opts.attempts ?? 6;",
    replace: "const attempts = 1;",
    tests: [FAULTS],
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

function firstFailure(output) {
  const clean = output.replace(/\x1b\[[0-9;]*m/g, "");
  const m = /FAIL\s+(.+?)\n/.exec(clean);
  return m ? m[1].trim().slice(0, 110) : "";
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
const base = await runTests(allFiles);
if (base.code !== 0) {
  console.log(base.output);
  console.log("baseline is red: fix the tests before judging mutants");
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
    rows.push({ m, result: r.code !== 0 ? "killed" : "SURVIVED", detail: r.code !== 0 ? `${r.failedTests} test(s) red: ${firstFailure(r.output)}` : "all tests green", seconds: r.seconds });
  } finally {
    restoreAll();
  }
  const last = rows.at(-1);
  console.log(`${m.name}: ${last.result} (${last.seconds} s)`);
}

console.log("\n| mutant | what it breaks | tests run | result | s |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.m.name} | ${r.m.what} (${r.m.file}) | ${r.m.tests.map((t) => t.replace(/^test\//, "")).join(", ")} | ${r.result}: ${r.detail} | ${r.seconds} |`);
const bad = rows.filter((r) => r.result !== "killed");
console.log(`\n${rows.length - bad.length} of ${rows.length} mutants killed${bad.length ? `; not killed: ${bad.map((r) => r.m.name).join(", ")}` : ""}`);
process.exit(bad.length ? 1 : 0);
