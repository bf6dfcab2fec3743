#!/usr/bin/env node
// Runs the whole test suite and ends with the one summary line CI reads:
// "N passed, N failed, N skipped", where N counts tests only. The build and the
// type check are steps, not tests: each reports on its own line and fails the
// run when it fails. Every skipped test is listed with its reason.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = (name) => join("node_modules", ".bin", name);
const problems = [];

// Build dist/ first (the examples import the package as users do, so they, and
// the type check of them, need it fresh), then type-check everything.
for (const [label, args] of [
  ["build", ["-p", "tsconfig.build.json"]],
  ["typecheck", ["-p", "tsconfig.json", "--noEmit"]],
]) {
  const r = spawnSync(bin("tsc"), args, { stdio: "inherit" });
  console.log(`${label}: ${r.status === 0 ? "ok" : "FAILED"}`);
  if (r.status !== 0) problems.push(`${label} failed`);
}
// The linter (eslint.config.mjs), a step like the type check.
{
  const r = spawnSync(bin("eslint"), ["src", "test", "scripts", "bench", "examples", "conformance"], { stdio: "inherit" });
  console.log(`lint: ${r.status === 0 ? "ok" : "FAILED"}`);
  if (r.status !== 0) problems.push("lint failed");
}
// The formatter (.prettierrc): every file as prettier writes it (`npx prettier --write` fixes it).
{
  const r = spawnSync(bin("prettier"), ["--check", "--log-level", "warn", "src", "test", "scripts", "bench", "examples", "conformance"], { stdio: "inherit" });
  console.log(`format: ${r.status === 0 ? "ok" : "FAILED"}`);
  if (r.status !== 0) problems.push("format check failed");
}
// The web dashboard's bundle (dist/ui), which the server serves with `ui: true`.
{
  const r = spawnSync(process.execPath, [join("scripts", "build-ui.mjs")], { stdio: "inherit" });
  console.log(`build ui: ${r.status === 0 ? "ok" : "FAILED"}`);
  if (r.status !== 0) problems.push("build ui failed");
}

// The conformance suite runs on its own, after everything else: several of its cases leave
// 1-3 s of slack on timers (visibility, retry backoff), and beside the heaviest files
// (a Chromium, twenty kill -9s of a server, CLI processes) a loaded 2-core machine ate it.
// Arguments (npm test -- FILTER) make it one run, as vitest would do it.
// The kill -9 runs (twenty crashes of a server each, with PostgreSQL or a journal) run in a phase of
// their own before it, for the same reason: beside them the other end-to-end files' timers lost
// their slack.
const ALONE = "test/conformance/conformance.test.ts";
const CRASH_RUNS = "test/e2e/crash.*.test.ts"; // a glob for --exclude
const CRASH_FILTER = "test/e2e/crash."; // the same files as a vitest file filter
const extra = process.argv.slice(2);
const phases = extra.length ? [extra] : [["--exclude", ALONE, "--exclude", CRASH_RUNS], [CRASH_FILTER], [ALONE]];
const dir = mkdtempSync(join(tmpdir(), "ojs-test-"));
let summary;
let vitestFailed = false;
phases.forEach((phaseArgs, i) => {
  const out = join(dir, `summary-${i}.json`);
  const args = ["run", "--reporter=default", "--reporter=./scripts/summary-reporter.mjs", ...phaseArgs];
  const vitest = spawnSync(bin("vitest"), args, { stdio: "inherit", env: { ...process.env, OJS_SUMMARY_FILE: out } });
  if (vitest.status !== 0) vitestFailed = true;
  let part;
  try {
    part = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    problems.push(`vitest produced no summary (${phaseArgs.join(" ")})`);
    return;
  }
  summary = summary
    ? {
        passed: summary.passed + part.passed,
        failed: summary.failed + part.failed,
        skipped: [...summary.skipped, ...part.skipped],
        brokenFiles: [...summary.brokenFiles, ...part.brokenFiles],
        unhandledErrors: summary.unhandledErrors + part.unhandledErrors,
        failedTests: [...summary.failedTests, ...part.failedTests],
      }
    : part;
});
rmSync(dir, { recursive: true, force: true });

let passed = 0;
let failed = 0;
let skipped = 0;
if (summary) {
  ({ passed, failed } = summary);
  skipped = summary.skipped.length;
  // Skips grouped by reason, each test named: nothing leaves the count unexplained.
  if (skipped > 0) {
    const byReason = new Map();
    for (const s of summary.skipped) {
      // A note may add a detail after " — " (which step, say); skips are grouped by what comes before.
      const [reason, ...detail] = (s.reason ?? "(no reason given)").split(" — ");
      const name = detail.length ? `${s.name} (${detail.join(" — ")})` : s.name;
      byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
    }
    console.log(`\nskipped tests (${skipped}), by reason:`);
    for (const [reason, names] of byReason) {
      console.log(`- ${reason} (${names.length})`);
      for (const n of names) console.log(`    ${n}`);
    }
  }
  for (const f of summary.brokenFiles) problems.push(`${f.file} did not run: ${f.error}`);
  if (summary.unhandledErrors > 0) problems.push(`${summary.unhandledErrors} unhandled error(s) during the run`);
  for (const t of summary.failedTests) console.log(`failed: ${t}`);
}
if (vitestFailed && failed === 0 && problems.length === 0) problems.push("vitest exited with a failure status");
for (const p of problems) console.log(`run failed: ${p}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && problems.length === 0 ? 0 : 1);
