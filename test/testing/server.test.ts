import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { ConnectionError, TimeoutError } from "../../src/index.js";
import { startTestServer, VirtualClock } from "../../src/testing/index.js";

const run = promisify(execFile);
const fixtures = join(import.meta.dirname, "fixtures");
const T0 = Date.UTC(2026, 0, 1);

describe("startTestServer", () => {
  const shared = startTestServer({ cleanup: afterAll });
  beforeEach(async () => (await shared).reset());

  it.each(["grpc", "http"] as const)("serves a client and a worker over %s; waitForJob follows the job", async (transport) => {
    const server = await shared;
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const client = server.client({ transport });
    const worker = server.worker({ transport, queues: ["t"], pollIntervalMs: 20 });
    worker.register("math.add", (ctx) => (ctx.args[0] as number) + (ctx.args[1] as number));
    void worker.start();
    const job = await client.enqueue("math.add", [2, 3], { queue: "t" });
    expect(await server.waitForJob(job.id)).toMatchObject({ state: "completed", result: 5 });
    await worker.stop();
  });

  it("reset() empties the server", async () => {
    const server = await shared;
    const client = server.client();
    const job = await client.enqueue("a.b", []);
    server.reset();
    await expect(client.getJob(job.id)).rejects.toThrow(/not found/);
  });

  it("waitForJob waits for the states asked for, and times out saying where the job is", async () => {
    const server = await shared;
    const client = server.client();
    const job = await client.enqueue("a.b", [], { queue: "nobody-listens" });
    expect((await server.waitForJob(job.id, { state: ["available", "scheduled"] })).state).toBe("available");
    const err = await server.waitForJob(job.id, { state: "completed", timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe(`job ${job.id} was not completed within 50 ms; it is available`);
    const later = server.waitForJob(job.id, { state: "cancelled" });
    await client.cancelJob(job.id);
    expect((await later).state).toBe("cancelled");
  });

  it("runs on a virtual clock when given one", async () => {
    const clock = new VirtualClock(T0);
    await using server = await startTestServer({ clock });
    const client = server.client();
    const job = await client.enqueue("a.b", [], { scheduledAt: new Date(T0 + 3_600_000) });
    expect(job.state).toBe("scheduled");
    clock.advance("PT1H");
    expect((await client.getJob(job.id)).state).toBe("available");
  });

  it("close() stops its workers and clients, and is what cleanup and `await using` call", async () => {
    let registered: (() => Promise<void>) | undefined;
    const server = await startTestServer({ cleanup: (fn) => (registered = fn) });
    const client = server.client();
    const worker = server.worker({ queues: ["c"] });
    worker.register("a.b", () => new Promise(() => undefined));
    void worker.start();
    await client.enqueue("a.b", [], { queue: "c" });
    await registered!();
    expect(worker.state).toBe("terminated");
    await expect(client.enqueue("a.b", [])).rejects.toBeInstanceOf(ConnectionError);
    await server.close();

    let url = "";
    {
      await using s = await startTestServer();
      url = s.url;
    }
    await expect(fetch(`${url}/ojs/manifest`)).rejects.toThrow();
  });

  it("a forgotten server (or fake) does not keep the process alive", async () => {
    // Generous: starting node with tsx takes seconds on a loaded machine; a process kept alive is still caught.
    const { stdout } = await run(process.execPath, ["--import", "tsx", join(fixtures, "forgotten-server.ts")], { timeout: 45_000 });
    expect(stdout).toMatch(/^started http:\/\/127\.0\.0\.1:\d+/);
  }, 60_000);

  it("works under node:test with after() for cleanup", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", join(fixtures, "node-test.ts")], { timeout: 60_000 });
    expect(stdout).toMatch(/# pass 2/);
    expect(stdout).toMatch(/# fail 0/);
  }, 90_000); // a loaded machine took 19.6 s of the 20 s the child process had
});
