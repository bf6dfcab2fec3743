/**
 * A worker still running after its grace period (its handler ignores the abort
 * signal) is ended by a hard deadline or a second signal, saying which jobs it
 * abandoned (issue 10, item 7). Before, the process lived on for the
 * handler's whole minute after SIGTERM.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 30_000 });
const fixture = join(import.meta.dirname, "..", "fixtures", "hung-worker.ts");

const children: ChildProcess[] = [];
// A failed test must not leave its worker running out its hung handler's minute.
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

interface Run {
  child: ChildProcess;
  messages: unknown[];
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
  until: (m: unknown) => Promise<void>;
}

function run(transport: string, queue: string, graceMs: number, hardDeadlineMs: number): Run {
  const child = fork(fixture, [ctx.url, transport, queue, String(graceMs), String(hardDeadlineMs)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "pipe", "ipc"],
  });
  children.push(child);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const messages: unknown[] = [];
  child.on("message", (m) => messages.push(m));
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.on("exit", (code) => r({ code, at: Date.now() })));
  const until = (m: unknown) =>
    new Promise<void>((resolve, reject) => {
      const check = () => messages.some((x) => JSON.stringify(x) === JSON.stringify(m)) && resolve();
      child.on("message", check);
      check();
      void exited.then(() => reject(new Error(`worker exited before sending ${JSON.stringify(m)}`)));
    });
  return { child, messages, stderr: () => err, exited, until };
}

describe.each(TRANSPORTS)("a worker with a handler that ignores its abort, over %s", (transport) => {
  it("exits at the hard deadline after SIGTERM, naming the job it abandoned; the job goes back to the queue", async () => {
    const queue = uniqueQueue("deadline");
    const client = new Client({ url: ctx.url, transport });
    const job = await client.enqueue("t.hung", [], { queue, retry: { maxAttempts: 3, initialInterval: 60_000 } });
    const r = run(transport, queue, 300, 1500);
    await r.until("started");
    const signalledAt = Date.now();
    r.child.kill("SIGTERM");
    const { code, at } = await r.exited;
    expect(code).toBe(1);
    // Well before the handler's minute: the deadline (1.5 s) plus process teardown.
    expect(at - signalledAt).toBeLessThan(10_000);
    expect(r.messages).toContainEqual({ abandoned: [job.id], reason: "grace_period" });
    expect(r.messages).toContainEqual("stopped");
    expect(r.stderr()).toContain(`hard deadline reached; 1 job(s) still running were abandoned: ${job.id} (t.hung)`);
    // The grace period handed the job back with a shutdown error for another worker.
    const j = await client.getJob(job.id);
    expect(j.state).toBe("retryable");
    expect(j.errors.at(-1)).toMatchObject({ code: "shutdown" });
    await client.close();
  }, 30_000);

  it("a second signal ends it at once, naming the job", async () => {
    const queue = uniqueQueue("second");
    const client = new Client({ url: ctx.url, transport });
    const job = await client.enqueue("t.hung", [], { queue, retry: { maxAttempts: 3, initialInterval: 60_000 } });
    const r = run(transport, queue, 300, 60_000);
    await r.until("started");
    r.child.kill("SIGTERM");
    await r.until("stopped");
    const secondAt = Date.now();
    r.child.kill("SIGTERM");
    const { code, at } = await r.exited;
    expect(code).toBe(1);
    expect(at - secondAt).toBeLessThan(5_000);
    expect(r.stderr()).toContain(`second signal; 1 job(s) still running were abandoned: ${job.id} (t.hung)`);
    expect(r.messages).toContainEqual({ abandoned: [job.id], reason: "second_signal" });
    await client.close();
  }, 30_000);
});
