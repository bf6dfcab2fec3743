/**
 * `ojs-connect` commands run as users run them (the bin script against the
 * built package), over both transports against a server started here: what
 * they print, that --json output parses, and their exit codes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { PACKAGE_VERSION } from "../../src/server/version.js";
import { startServer } from "../../src/server/index.js";
import { TRANSPORTS, client, uniqueQueue, useServer } from "../helpers.js";
import { cli, jsonLines } from "../support/cli.js";
import { hasOpenssl, makePki } from "../support/tls-proxy.js";

// Every test here runs the CLI binary, several times: a process start costs a second or two on a
// busy 2-core machine, so this file allows 60 s a test (the assertions say nothing about speed).
vi.setConfig({ testTimeout: 60_000 });

const ctx = useServer();
const tmp = mkdtempSync(join(tmpdir(), "ojs-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(TRANSPORTS)("ojs-connect over %s", (transport) => {
  const conn = () => ["--url", ctx.url, "--transport", transport];

  it("enqueue prints the job (--json: OJS JSON, id at the top level); get shows it; cancel cancels it", async () => {
    const queue = uniqueQueue("cli");
    const made = await cli(["enqueue", "report.build", "--args", '[{"month":"2026-11"},3]', "--queue", queue, "--priority", "5", "--json", ...conn()]);
    expect(made).toMatchObject({ code: 0, stderr: "" });
    const job = JSON.parse(made.stdout) as { id: string; type: string; queue: string; args: unknown[]; priority: number; state: string };
    expect(job).toMatchObject({ type: "report.build", queue, args: [{ month: "2026-11" }, 3], priority: 5, state: "available" });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);

    const text = await cli(["get", job.id, ...conn()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^id +${job.id}$`, "m"));
    expect(text.stdout).toMatch(/^state +available$/m);
    expect(text.stdout).toMatch(/^args +\[\{"month":"2026-11"\},3\]$/m);

    const cancelled = await cli(["cancel", job.id, "--json", ...conn()]);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: job.id, state: "cancelled" });
    const again = await cli(["get", job.id, "--json", ...conn()]);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: job.id, state: "cancelled" });
    // Cancelling a finished job is refused by the server: exit 1, the reason on stderr.
    const twice = await cli(["cancel", job.id, ...conn()]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^cancel: \[\w+\]/);
  });

  it("queues, stats, pause and resume", async () => {
    const queue = uniqueQueue("cli");
    const c = client(ctx.url, transport);
    try {
      await c.enqueue("a.b", [], { queue });
      await c.enqueue("a.b", [], { queue });
      const paused = await cli(["pause", queue, ...conn()]);
      expect(paused).toMatchObject({ code: 0, stdout: `queue ${queue} paused\n` });

      const list = await cli(["queues", "--json", ...conn()]);
      expect(list.code).toBe(0);
      const q = (JSON.parse(list.stdout) as Array<{ name: string; state: string; counts: { available: number } }>).find((x) => x.name === queue);
      expect(q).toMatchObject({ state: "paused", counts: { available: 2 } });
      const table = await cli(["queues", ...conn()]);
      expect(table.stdout).toMatch(/^QUEUE +STATE +AVAILABLE/);
      expect(table.stdout).toMatch(new RegExp(`^${queue} +paused +2 `, "m"));

      const resumed = await cli(["resume", queue, "--json", ...conn()]);
      expect(JSON.parse(resumed.stdout)).toEqual({ queue, state: "active" });
      expect((await c.admin.getQueue(queue)).paused).toBe(false);

      const stats = await cli(["stats", "--json", ...conn()]);
      const s = JSON.parse(stats.stdout) as { queues: number; jobs: { available: number }; uptimeSeconds: number };
      expect(s.queues).toBeGreaterThanOrEqual(1);
      expect(s.jobs.available).toBeGreaterThanOrEqual(2);
      expect((await cli(["stats", ...conn()])).stdout).toMatch(/^available +\d+$/m);
    } finally {
      await c.close();
    }
  });

  it("cron add, list and remove", async () => {
    const name = uniqueQueue("nightly");
    const added = await cli([
      "cron",
      "add",
      name,
      "0 3 * * *",
      "--type",
      "report.build",
      "--args",
      "[1]",
      "--queue",
      "reports",
      "--timezone",
      "Europe/Paris",
      "--json",
      ...conn(),
    ]);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name, next_run_at: expect.stringMatching(/T0[12]:00:00/) });
    const list = await cli(["cron", "list", "--json", ...conn()]);
    const entry = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((e) => e.name === name);
    expect(entry).toMatchObject({ name, timezone: "Europe/Paris" });
    expect((await cli(["cron", "list", ...conn()])).stdout).toMatch(new RegExp(`^${name} +0 3 \\* \\* \\* +Europe/Paris +report.build +reports `, "m"));
    expect(await cli(["cron", "remove", name, ...conn()])).toMatchObject({ code: 0, stdout: `cron ${name} removed\n` });
    const gone = await cli(["cron", "remove", name, ...conn()]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/\[not_found\]/);
  });

  it("workflow get shows the workflow and its steps", async () => {
    const c = client(ctx.url, transport);
    try {
      const { chain, step } = await import("../../src/index.js");
      const wf = await c.workflow(chain("etl", [step("etl.extract", ["s3://x"], { queue: uniqueQueue() }), step("etl.load", [])]));
      const r = await cli(["workflow", "get", wf.id, "--json", ...conn()]);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { id: string; state: string };
      expect(j.id).toBe(wf.id);
      const text = await cli(["workflow", "get", wf.id, ...conn()]);
      expect(text.stdout).toMatch(/^STEP +TYPE +STATE/m);
      expect(text.stdout).toContain("etl.extract");
      expect(text.stdout).toContain("etl.load");
    } finally {
      await c.close();
    }
  });
});

describe("ojs-connect enqueue --file", () => {
  it("enqueues every line in batches, draws the progress bar, prints each job with --json", async () => {
    const queue = uniqueQueue("bulk");
    const file = join(tmp, "jobs.ndjson");
    const lines = Array.from({ length: 250 }, (_, i) =>
      JSON.stringify(i % 2 ? { type: "row.import", args: [i] } : { type: "row.import", args: [i], options: { priority: 1 } }),
    );
    writeFileSync(file, `${lines.join("\n")}\n\n`);
    const r = await cli(["enqueue", "--file", file, "--queue", queue, "--batch-size", "100", "--progress", "--json", "--url", ctx.url]);
    expect(r.code).toBe(0);
    const jobs = jsonLines(r.stdout) as Array<{ id: string; queue: string; args: number[] }>;
    expect(jobs).toHaveLength(250);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(250);
    expect(jobs.every((j) => j.queue === queue)).toBe(true);
    expect(jobs.map((j) => j.args[0])).toEqual(lines.map((_, i) => i));
    expect(r.stderr).toContain("250/250 enqueued");
    const c = client(ctx.url, "http");
    expect((await c.admin.getQueue(queue)).counts.available).toBe(250);
    await c.close();
    // Text output, over HTTP, and no bar when stderr is not a terminal.
    const small = join(tmp, "small.ndjson");
    writeFileSync(small, `{"type":"a.b","args":[],"options":{"queue":"${queue}"}}\n`);
    expect(await cli(["enqueue", "--file", small, "--url", ctx.url, "--transport", "http"])).toEqual({
      code: 0,
      stdout: `enqueued 1 jobs from ${small}\n`,
      stderr: "",
    });
  });

  it("a bad line stops it before anything is sent (exit 2, file and line named)", async () => {
    const queue = uniqueQueue("bulk");
    const file = join(tmp, "bad.ndjson");
    writeFileSync(file, [`{"type":"a.b","args":[1]}`, `{"type":"a.b","args":[2]}`, `{"type":"a.b","args":"nope"}`].join("\n"));
    const r = await cli(["enqueue", "--file", file, "--queue", queue, "--url", ctx.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:3:`);
    const c = client(ctx.url, "http");
    expect((await c.admin.listJobs({ queue })).total).toBe(0);
    await c.close();
    expect((await cli(["enqueue", "--file", join(tmp, "missing.ndjson"), "--url", ctx.url])).code).toBe(2);
  });
});

describe("ojs-connect: help, version, connection and exit codes", () => {
  it("--version and --help work on the program and on every command", async () => {
    expect(await cli(["--version"])).toEqual({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: "" });
    expect((await cli(["dlq", "retry", "--version"])).stdout).toBe(`${PACKAGE_VERSION}\n`);
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["serve", "enqueue", "get", "cancel", "wait", "queues", "stats", "pause", "resume", "dlq", "cron", "workflow", "events"])
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    expect(help.stdout).toMatch(/Exit codes: 0 ok; 1 [\s\S]*; 2 usage error[\s\S]*; 3 the server cannot be reached/);
    const get = await cli(["get", "--help"]);
    expect(get).toMatchObject({ code: 0, stderr: "" });
    expect(get.stdout).toMatch(/^Usage: ojs-connect get \[options\] <id>/);
    expect(get.stdout).toContain("--transport <kind>");
    expect((await cli(["cron", "add", "--help"])).stdout).toMatch(/^Usage: ojs-connect cron add \[options\] <name> <schedule>/);
  });

  it("usage mistakes exit 2 with the command's usage, and send nothing", async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^Usage: ojs-connect/);
    for (const args of [
      ["frobnicate"],
      ["enqueue"],
      ["enqueue", "a.b", "--args", "{}"],
      ["enqueue", "a.b", "--args", "[1"],
      ["enqueue", "a.b", "--priority", "high"],
      ["get"],
      ["get", "x", "--transport", "carrier-pigeon"],
      ["get", "x", "--url", "ftp://x"],
      ["dlq", "retry"],
      ["cron", "add", "n", "* * * * *"],
    ]) {
      const r = await cli([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/Usage: ojs-connect|error:/);
    }
  });

  it("exit 1 when the server refuses, 3 when it cannot be reached", async () => {
    const missing = await cli(["get", "01900000-0000-7000-8000-000000000000", "--url", ctx.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^get: \[not_found\]/m);
    for (const transport of TRANSPORTS) {
      const down = await cli(["queues", "--url", "http://127.0.0.1:1", "--transport", transport]);
      expect(down.code, transport).toBe(3);
      expect(down.stderr).toMatch(/^queues: \[unavailable\]/m);
    }
  });

  it("honours OJS_URL, OJS_TRANSPORT and OJS_AUTH_TOKEN, and --token", async () => {
    await using secured = await startServer({ port: 0, auth: { token: "cli-secret-token" } });
    const denied = await cli(["queues", "--url", secured.url]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/\[unauthenticated\]/);
    expect((await cli(["queues", "--json"], { OJS_URL: secured.url, OJS_AUTH_TOKEN: "cli-secret-token", OJS_TRANSPORT: "http" })).code).toBe(0);
    expect((await cli(["queues", "--json", "--url", secured.url, "--token", "cli-secret-token"])).code).toBe(0);
    expect((await cli(["queues"], { OJS_URL: secured.url, OJS_TRANSPORT: "smoke-signals" })).code).toBe(2);
  });
});

describe.skipIf(!hasOpenssl)("ojs-connect against a TLS server with client certificates", () => {
  it("--tls-ca, --tls-cert and --tls-key reach it over both transports; a missing file is a usage error", async () => {
    const pki = makePki();
    for (const [name, text] of Object.entries({ "ca.crt": pki.ca, "client.crt": pki.clientCert, "client.key": pki.clientKey }))
      writeFileSync(join(tmp, name), text);
    await using server = await startServer({ port: 0, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
    const tlsFlags = ["--tls-ca", join(tmp, "ca.crt"), "--tls-cert", join(tmp, "client.crt"), "--tls-key", join(tmp, "client.key")];
    for (const transport of TRANSPORTS) {
      const r = await cli(["queues", "--json", "--url", server.url, "--transport", transport, ...tlsFlags]);
      expect(r.code, `${transport}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
    }
    const missing = await cli(["queues", "--url", server.url, "--tls-ca", join(tmp, "nope.crt")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--tls-ca: cannot read .*nope\.crt \(ENOENT\)/);
    expect((await cli(["queues", "--url", server.url, "--tls-cert", join(tmp, "client.crt")])).code).toBe(2);
  }, 60_000);
});
