/**
 * The public API report (api/*.api.md: every export of each package entry
 * point with its published declaration) matches the code, so a change of
 * public API is a visible change of those files in review. When the change is
 * meant: `node scripts/api-report.mjs`, and commit api/.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

it("api/*.api.md match the public API (update: node scripts/api-report.mjs)", async () => {
  const r = await run(process.execPath, [join(root, "scripts", "api-report.mjs"), "--check"], { cwd: root, timeout: 240_000 }).then(
    () => "",
    (e: { stderr: string }) => e.stderr,
  );
  expect(r).toBe("");
}, 300_000);
