import { fork } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 30_000 });
const fixture = join(import.meta.dirname, "..", "fixtures", "sigterm-worker.ts");

describe.each(TRANSPORTS)("SIGTERM over %s", (transport) => {
  it("during 50 slow jobs loses none: each is completed or failed with shutdown, none left active", async () => {
    const queue = uniqueQueue("sigterm");
    const client = new Client({ url: ctx.url, transport });
    const jobs = await client.enqueueBatch(
      Array.from({ length: 50 }, (_, i) => ({ type: "t.slow", args: [i], options: { queue, retry: { maxAttempts: 3, initialInterval: 60_000 } } })),
    );
    const child = fork(fixture, [ctx.url, transport, queue, "1500"], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.on("message", (m) => m === "all-started" && resolve());
      child.on("exit", () => reject(new Error("worker exited early")));
    });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const final = await Promise.all(jobs.map((j) => client.getJob(j.id)));
    const byState = final.reduce<Record<string, number>>((acc, j) => ((acc[j.state] = (acc[j.state] ?? 0) + 1), acc), {});
    expect(byState).toEqual({ completed: 25, retryable: 25 });
    for (const j of final.filter((x) => x.state === "retryable")) expect(j.errors.at(-1)).toMatchObject({ code: "shutdown" });
    await client.close();
  }, 30_000);
});
