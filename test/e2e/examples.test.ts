import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TRANSPORTS, useServer } from "../helpers.js";
import { hasOpenssl } from "../support/tls-proxy.js";

// The examples import "ojs-connect" as users do, which resolves to dist/: the test
// script builds it before running the suite.
const run = promisify(execFile);
const ctx = useServer();
const dir = join(import.meta.dirname, "..", "..", "examples");

describe.each(TRANSPORTS)("examples/ over %s", (transport) => {
  it.each([
    "jobs.js",
    "workflow.js",
    "admin.js",
    "events.js",
    "limits.js",
    "rate-limit.js",
    "webhooks.js",
    "tenants.js",
    "encryption.js",
    "codec-server.js",
    "checkpoints.js",
  ])(
    "%s runs to completion against a server",
    async (file) => {
      const { stdout } = await run(process.execPath, [join(dir, file)], {
        env: { ...process.env, OJS_URL: ctx.url, OJS_TRANSPORT: transport },
        timeout: 20_000,
      });
      expect(stdout.length).toBeGreaterThan(0);
    },
    30_000,
  );
});

describe("examples/demo.js", () => {
  it("starts its own server and processes jobs with both workers", async () => {
    const { stdout } = await run(process.execPath, [join(dir, "demo.js")], { env: { ...process.env, DEMO_JOBS: "100" }, timeout: 30_000 });
    expect(stdout).toMatch(/grpc worker: +50 jobs/);
    expect(stdout).toMatch(/http worker: +50 jobs/);
  }, 40_000);
});

describe.skipIf(!hasOpenssl)("examples/auth-tls.js", () => {
  it("starts its own TLS server with keys and client certificates, and shows the roles at work", async () => {
    const { stdout } = await run(process.execPath, [join(dir, "auth-tls.js")], { timeout: 30_000 });
    expect(stdout).toMatch(/^server on https:/);
    expect(stdout).toMatch(/worker \(by its certificate\) completed it: \{"sent":"INV-1001"\}/);
    expect(stdout).toMatch(/dashboard: PermissionDeniedError \(permission_denied\)/);
    expect(stdout).toMatch(/producer: PermissionDeniedError .* needs the admin role/);
  }, 40_000);
});
