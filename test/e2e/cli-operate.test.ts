/**
 * The operating commands of `ojs-connect`, run as the binary: the dead-letter
 * queue (one job and bulk, with progress), following events with filters, and
 * `serve` itself (flags, --conformance with its reset route, shutdown).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { SERVE_FLAGS } from "../../src/cli/serve-flags.js";
import { TRANSPORTS, client, eventually, uniqueQueue, useServer, worker } from "../helpers.js";
import { cli, jsonLines, spawnCli } from "../support/cli.js";

const ctx = useServer();

/** Jobs that failed their only attempt, in the dead-letter queue of `queue`. */
async function deadLetters(transport: (typeof TRANSPORTS)[number], queue: string, n: number): Promise<string[]> {
  const c = client(ctx.url, transport);
  const w = worker(ctx.url, transport, { queues: [queue], logger: false });
  w.register("doomed", async () => {
    throw new Error("always fails");
  });
  try {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await c.enqueue("doomed", [i], { queue, retry: { maxAttempts: 1, onExhaustion: "dead_letter" } })).id);
    void w.start();
    await eventually(async () => (await c.listDeadLetterJobs({ queue, limit: 100 })).items.length === n, 10_000);
    return ids;
  } finally {
    await w.stop();
    await c.close();
  }
}

describe.each(TRANSPORTS)("ojs-connect dlq over %s", (transport) => {
  const conn = () => ["--url", ctx.url, "--transport", transport];

  it("lists, retries one and all (with progress), deletes one and all; unknown IDs exit 1", async () => {
    const retryQ = uniqueQueue("dlq");
    const deleteQ = uniqueQueue("dlq");
    const toRetry = await deadLetters(transport, retryQ, 3);
    const toDelete = await deadLetters(transport, deleteQ, 3);

    const list = await cli(["dlq", "list", "--queue", retryQ, "--json", ...conn()]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((j) => j.id).sort()).toEqual([...toRetry].sort());
    const text = await cli(["dlq", "list", "--queue", retryQ, ...conn()]);
    expect(text.stdout).toMatch(/^ID +TYPE +QUEUE +ATTEMPTS +ERROR/);
    expect(text.stdout).toContain("always fails");

    expect(await cli(["dlq", "retry", toRetry[0]!, ...conn()])).toMatchObject({ code: 0, stdout: "retried 1 of 1 dead-letter jobs\n" });
    const all = await cli(["dlq", "retry", "--all", "--queue", retryQ, "--batch-size", "1", "--progress", "--json", ...conn()]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ matched: 2, succeeded: 2, failed: 0 });
    expect(all.stderr).toContain("2/2 retried");
    const c = client(ctx.url, transport);
    try {
      for (const id of toRetry) expect((await c.getJob(id)).state).toBe("available");

      expect(await cli(["dlq", "delete", toDelete[0]!, ...conn()])).toMatchObject({ code: 0, stdout: "deleted 1 of 1 dead-letter jobs\n" });
      const gone = await cli(["dlq", "delete", "--all", "--queue", deleteQ, "--json", ...conn()]);
      expect(JSON.parse(gone.stdout)).toMatchObject({ matched: 2, succeeded: 2 });
      expect((await c.listDeadLetterJobs({ queue: deleteQ })).items).toHaveLength(0);
      expect((await cli(["dlq", "list", "--queue", deleteQ, ...conn()])).stdout).toBe("the dead-letter queue is empty\n");
    } finally {
      await c.close();
    }

    const unknown = await cli(["dlq", "retry", toDelete[0]!, "01900000-0000-7000-8000-000000000000", ...conn()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("retried 0 of 2 dead-letter jobs, 2 failed\n");
    expect(unknown.stderr).toContain("01900000-0000-7000-8000-000000000000:");
  }, 60_000);
});

describe.each(TRANSPORTS)("ojs-connect events over %s", (transport) => {
  it("follows events of one queue and type until --count, as text or CloudEvents JSON", async () => {
    const queue = uniqueQueue("ev");
    const other = uniqueQueue("ev");
    const follow = spawnCli([
      "events",
      "--follow",
      "--queue",
      queue,
      "--type",
      "job.enqueued",
      "--count",
      "3",
      "--json",
      "--url",
      ctx.url,
      "--transport",
      transport,
    ]);
    const c = client(ctx.url, transport);
    try {
      // The stream starts some time after the spawn: enqueue until it has seen three (bounded).
      for (let i = 0; i < 100 && follow.child.exitCode === null; i++) {
        await c.enqueue("noise", [], { queue: other });
        const j = await c.enqueue("signal", [i], { queue });
        await c.cancelJob(j.id);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await follow.exited).toBe(0);
      const events = jsonLines(follow.out()) as Array<{ type: string; queue: string; job_type: string; specversion: string }>;
      expect(events).toHaveLength(3);
      for (const e of events) expect(e).toMatchObject({ specversion: "1.0", type: "job.enqueued", queue, job_type: "signal" });

      // Text: one line an event, time first; a type prefix filter.
      const paused = uniqueQueue("ev");
      const text = spawnCli(["events", "--type", "queue.*", "--queue", paused, "--count", "1", "--url", ctx.url, "--transport", transport]);
      for (let i = 0; i < 100 && text.child.exitCode === null; i++) {
        await c.pauseQueue(paused);
        await c.resumeQueue(paused);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await text.exited).toBe(0);
      expect(text.out()).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z queue\\.(paused|resumed) queue ${paused}`));
    } finally {
      await c.close();
      follow.child.kill();
    }
  }, 30_000);
});

describe("ojs-connect serve", () => {
  it("documents every server flag in serve --help", async () => {
    const help = await cli(["serve", "--help"]);
    expect(help.code).toBe(0);
    for (const f of SERVE_FLAGS) expect(help.stdout).toContain(f.flags.split(" ")[0]);
    for (const env of ["PORT", "OJS_SERVER_TOKEN", "OJS_SERVER_AUTH_FILE"]) expect(help.stdout).toContain(env);
  });

  it("refuses bad flag values with exit 2, naming the flag", async () => {
    for (const [args, msg] of [
      [["--port", "http"], /--port: must be a whole number/],
      [["--max-dead-letter", "0"], /--max-dead-letter: must be a whole number from 1/],
      [["--schema-validation", "sometimes"], /argument 'sometimes' is invalid/],
      [["--tls-cert", "c.pem"], /give both/],
      [["--public-metrics"], /only means something/],
    ] as const) {
      const r = await cli(["serve", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });

  it("--conformance turns on the hooks and POST /ojs/v1/admin/reset; without it the route is 404; SIGTERM stops it with 0", async () => {
    const conf = spawnCli(["serve", "--port", "0", "--conformance", "--max-body-bytes", "2048"]);
    const plain = spawnCli(["serve", "--port", "0"]);
    try {
      const urlOf = async (s: typeof conf) => (await eventually(() => /listening on (http:\/\/\S+) /.exec(s.out())?.[1], 15_000)) as string;
      const [confUrl, plainUrl] = await Promise.all([urlOf(conf), urlOf(plain)]);
      expect(conf.out()).toContain(`reset with POST ${confUrl}/ojs/v1/admin/reset`);

      const c = client(confUrl, "http");
      try {
        const job = await c.enqueue("before.reset", [], { queue: "q" });
        const reset = await fetch(`${confUrl}/ojs/v1/admin/reset`, { method: "POST" });
        expect(reset.status).toBe(200);
        expect(await reset.json()).toEqual({ status: "reset" });
        await expect(c.getJob(job.id)).rejects.toMatchObject({ code: "not_found" });
        // The flags reached the server: a body over --max-body-bytes is refused.
        const big = await fetch(`${confUrl}/ojs/v1/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "a", args: ["x".repeat(4096)] }),
        });
        expect(big.status).toBe(413);
      } finally {
        await c.close();
      }
      const refused = await fetch(`${plainUrl}/ojs/v1/admin/reset`, { method: "POST" });
      expect(refused.status).toBe(404);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/conformance hooks/);
    } finally {
      conf.child.kill("SIGTERM");
      plain.child.kill("SIGTERM");
    }
    expect(await conf.exited).toBe(0);
    expect(await plain.exited).toBe(0);
    expect(conf.out()).toContain("shutting down");
  }, 30_000);
});

describe("examples/cli.sh", () => {
  it("runs to completion against a server, branching on the exit code of wait", async () => {
    const script = join(import.meta.dirname, "..", "..", "examples", "cli.sh");
    const { stdout } = await promisify(execFile)("bash", [script], { env: { ...process.env, OJS_URL: ctx.url }, timeout: 30_000 });
    expect(stdout).toMatch(/^enqueued [0-9a-f-]{36}$/m);
    expect(stdout).toMatch(/queue example-cli-\d+ paused/);
    expect(stdout).toContain("not completed in time (exit 1)");
    expect(stdout).toMatch(/is cancelled$/m);
  }, 40_000);
});
