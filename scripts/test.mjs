#!/usr/bin/env node
// Runs the whole test suite (type check, then vitest) and ends with the one
// summary line CI reads: "N passed, N failed".
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = (name) => join("node_modules", ".bin", name);
let passed = 0;
let failed = 0;

// Build dist/ first (the examples import the package as users do, so they, and
// the type check of them, need it fresh), then type-check everything.
for (const [label, args] of [
  ["build", ["-p", "tsconfig.build.json"]],
  ["typecheck", ["-p", "tsconfig.json", "--noEmit"]],
]) {
  const r = spawnSync(bin("tsc"), args, { stdio: "inherit" });
  if (r.status === 0) {
    console.log(`${label}: ok`);
    passed++;
  } else {
    console.log(`${label}: FAILED`);
    failed++;
  }
}

const dir = mkdtempSync(join(tmpdir(), "ojs-test-"));
const out = join(dir, "vitest.json");
const args = ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)];
const vitest = spawnSync(bin("vitest"), args, { stdio: "inherit" });
try {
  const report = JSON.parse(readFileSync(out, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A file that failed to load has no tests but is a failure all the same.
  for (const f of report.testResults ?? []) if (f.status === "failed" && (f.assertionResults ?? []).length === 0) failed++;
} catch {
  failed++;
  console.log("vitest produced no report");
}
rmSync(dir, { recursive: true, force: true });
if (vitest.status !== 0 && failed === 0) failed++;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
