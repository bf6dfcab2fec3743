import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

// Imports "ojs-connect" as users do (dist/, built by the test script first).
const run = promisify(execFile);

it("examples/durable.js: jobs enqueued before a restart run after it", async () => {
  const { stdout } = await run(process.execPath, [join(import.meta.dirname, "..", "..", "examples", "durable.js")], { timeout: 20_000 });
  expect(stdout).toContain("after the restart: available, available, available");
  expect(stdout).toContain("sent: ada@example.com, alan@example.com, grace@example.com");
}, 30_000);
