/** `ojs-connect wait ID`, run as users run it (the bin script, built package), over both transports. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TRANSPORTS, client, uniqueQueue, useServer, worker } from "../helpers.js";

const run = promisify(execFile);
const bin = join(import.meta.dirname, "..", "..", "bin", "ojs-connect.js");
const ctx = useServer();

/** Exit status and output of the CLI, whatever the status. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { timeout: 20_000 });
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe.each(TRANSPORTS)("ojs-connect wait over %s", (transport) => {
  it("waits for the job, prints its result and exits 0; a discarded job exits 1", async () => {
    const queue = uniqueQueue();
    const c = client(ctx.url, transport);
    const w = worker(ctx.url, transport, { queues: [queue], logger: false });
    w.register("cli.ok", async () => {
      await new Promise((r) => setTimeout(r, 300));
      return { n: 42 };
    });
    w.register("cli.bad", async () => {
      throw new Error("no luck");
    });
    try {
      const ok = await c.enqueue("cli.ok", [], { queue });
      const bad = await c.enqueue("cli.bad", [], { queue, retry: { maxAttempts: 1 } });
      void w.start();
      const [a, b] = await Promise.all([
        cli(["wait", ok.id, "--url", ctx.url, "--transport", transport, "--timeout-ms", "15000"]),
        cli(["wait", bad.id, "--url", ctx.url, "--transport", transport]),
      ]);
      expect(a).toMatchObject({ code: 0, stdout: `${ok.id} completed {"n":42}\n` });
      expect(b.code).toBe(1);
      expect(b.stdout).toBe(`${bad.id} discarded no luck\n`);
    } finally {
      await w.stop();
      await c.close();
    }
  });

  it("--json prints the job as OJS JSON", async () => {
    const c = client(ctx.url, transport);
    try {
      const job = await c.enqueue("cli.cancel", [], { queue: uniqueQueue() });
      await c.cancelJob(job.id);
      const r = await cli(["wait", job.id, "--json", "--url", ctx.url, "--transport", transport]);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ id: job.id, state: "cancelled", type: "cli.cancel" });
    } finally {
      await c.close();
    }
  });
});

describe("ojs-connect wait: mistakes", () => {
  it("an unknown job exits 1 naming the error; a timeout exits 1 saying so", async () => {
    const r = await cli(["wait", "01900000-0000-7000-8000-000000000000", "--url", ctx.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[not_found\]/);
    const c = client(ctx.url, "http");
    const job = await c.enqueue("nobody.works", [], { queue: uniqueQueue() });
    await c.close();
    const t = await cli(["wait", job.id, "--url", ctx.url, "--timeout-ms", "300"]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/\[timeout\].*within 300 ms/);
  });

  it("usage mistakes exit 2 with the usage; a bad URL is named", async () => {
    const none = await cli(["wait"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/missing the job ID[\s\S]*Usage: ojs-connect wait/);
    const url = await cli(["wait", "x", "--url", "htp://localhost:8080"]);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/url: "htp:\/\/localhost:8080" must start with http:\/\/ or https:\/\//);
    const flag = await cli(["wait", "x", "--timeout", "5"]);
    expect(flag.code).toBe(2);
  });
});
