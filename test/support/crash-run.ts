/**
 * The kill -9 run shared by the durable stores' crash tests
 * (test/e2e/crash.journal.test.ts, test/e2e/crash.postgres.test.ts):
 * `ojs-connect serve` (test/fixtures/journal-server.ts, the real CLI) is
 * killed with SIGKILL `kills` times while producers enqueue `jobs` jobs and a
 * worker runs them, then restarted on the same port with the same store
 * arguments. It reports what the test asserts: every enqueue the client saw
 * succeed, which of them completed, the states the server holds for them,
 * the jobs that ran more than once (allowed by at-least-once after a crash)
 * and those that ran again after their completion was acknowledged (never
 * allowed).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Client, Worker } from "../../src/index.js";
import { expect } from "vitest";
import { eventually } from "../helpers.js";

const fixture = join(import.meta.dirname, "..", "fixtures", "journal-server.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CrashRunOptions {
  /** What says where the server keeps its jobs: ["--data", dir] or ["--store", url]. */
  storeArgs: readonly string[];
  jobs: number;
  kills: number;
  /** Work per job in the handler (ms), so that the run outlasts the kills. */
  jobWorkMs: number;
}

export interface CrashReport {
  kills: number;
  /** Ids of the enqueues the client saw succeed. */
  acked: ReadonlySet<string>;
  /** Of those, the ones the worker saw completed, that never did. */
  missing: string[];
  completed: number;
  /** How many of the acknowledged jobs the server holds in each state ("lost": not found). */
  states: Record<string, number>;
  /** Jobs the worker ran more than once. */
  twice: number;
  /** Jobs started again after the worker saw their completion acknowledged. */
  rerunAfterCompleted: number;
  failedEnqueues: number;
  failedSettles: number;
  durationMs: number;
  /** The line the test prints, so that jobs run twice are reported, not hidden. */
  summary: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Server processes of one run; killAll() in the test's afterAll. */
export class CrashServers {
  private readonly all: ChildProcess[] = [];
  private readonly spares: Array<ChildProcess & { loaded: Promise<void> }> = [];
  private current: ChildProcess | undefined;

  constructor(
    private readonly port: number,
    private readonly storeArgs: readonly string[],
  ) {}

  /** A server process with everything loaded, waiting for the word to start serving. */
  private spare(): void {
    const c = spawn(
      process.execPath,
      ["--import", "tsx", fixture, "serve", ...this.storeArgs, "--port", String(this.port), "--visibility-timeout-ms", "1000", "--no-ui"],
      {
        stdio: ["pipe", "pipe", "inherit"],
        env: { ...process.env, OJS_START_ON_STDIN: "1" },
      },
    );
    const loaded = new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        if (d.toString().includes("loaded")) {
          c.stdout!.off("data", onData);
          resolve();
        }
      };
      c.stdout!.on("data", onData);
    });
    this.all.push(c);
    this.spares.push(Object.assign(c, { loaded }));
  }

  private async serve(c: ChildProcess): Promise<void> {
    const listening = new Promise<void>((resolve, reject) => {
      let out = "";
      c.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("listening on")) resolve();
      });
      c.once("exit", (code) => reject(new Error(`server exited with ${code} before listening: ${out}`)));
    });
    c.stdin!.write("go\n");
    await listening;
    this.current = c;
  }

  /** Warm spares, so that a kill costs milliseconds of downtime, not a process start. */
  async start(): Promise<void> {
    for (let i = 0; i < 4; i++) this.spare();
    await this.serve(this.spares.shift()!);
  }

  /** SIGKILL of the serving process once its replacement is loaded; the replacement serves. */
  async killAndRestart(): Promise<void> {
    const next = this.spares.shift()!;
    await next.loaded;
    const c = this.current!;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
    if (c.signalCode !== "SIGKILL") throw new Error(`the server was not killed by SIGKILL (${String(c.signalCode)})`);
    await this.serve(next);
    this.spare();
  }

  killAll(): void {
    for (const c of this.all) c.kill("SIGKILL");
  }
}

/** Runs the scenario on `servers` (started by it) and reports; asserts nothing itself. */
export async function runCrash(opts: CrashRunOptions, register: (s: CrashServers) => void): Promise<CrashReport> {
  const began = Date.now();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const servers = new CrashServers(port, opts.storeArgs);
  register(servers);
  await servers.start();
  const queue = "crash";
  const runs = new Map<string, number>();
  const completed = new Set<string>();
  let rerunAfterCompleted = 0;
  const worker = new Worker({ url, transport: "grpc", queues: [queue], concurrency: 4, handleSignals: false, heartbeatIntervalMs: 300 });
  worker.register("t.crash", async () => {
    await sleep(opts.jobWorkMs);
  });
  worker.on("job.started", ({ job }) => {
    runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
    if (completed.has(job.id)) rerunAfterCompleted++;
  });
  worker.on("job.completed", ({ job }) => void completed.add(job.id));
  let failedSettles = 0;
  worker.on("job.settleFailed", () => void failedSettles++);
  void worker.start();

  const client = new Client({ url, transport: "grpc" });
  const acked = new Set<string>();
  let failedEnqueues = 0;
  let kills = 0;
  // Producers stay at most 200 jobs ahead of the worker, so enqueues and runs overlap the kills.
  const producer = async () => {
    while (acked.size < opts.jobs) {
      if (acked.size - completed.size > 200) {
        await sleep(5);
        continue;
      }
      try {
        // Backoff capped at 1 s: a job whose lease ran out while the server was down (or starved on
        // a loaded machine) several times would otherwise wait 16 s, 32 s... and outlast the final wait.
        const job = await client.enqueue("t.crash", [acked.size], { queue, retry: { maxAttempts: 50, initialInterval: 100, maxInterval: 1000 } });
        acked.add(job.id);
      } catch {
        failedEnqueues++;
        await sleep(10);
      }
    }
  };
  // Kills spread over the run: one after every jobs / (kills + 1) completed jobs.
  const killer = async () => {
    for (let k = 1; k <= opts.kills; k++) {
      await eventually(() => completed.size >= (k * opts.jobs) / (opts.kills + 1), 20_000, 5);
      await servers.killAndRestart();
      kills++;
    }
  };
  const progress = process.env.OJS_CRASH_PROGRESS
    ? setInterval(() => console.log(`crash run: ${kills} kills, ${acked.size} enqueued, ${completed.size} completed`), 2000)
    : undefined;
  await Promise.all([killer(), ...Array.from({ length: 8 }, producer)]).finally(() => clearInterval(progress));

  // Bounded wait; what is still missing then is reported by id count rather than as a timeout.
  await eventually(() => [...acked].every((id) => completed.has(id)), 40_000, 50).catch(() => undefined);
  const missing = [...acked].filter((id) => !completed.has(id));
  // The server's view: every acknowledged job should be completed there (none went back to available).
  const states: Record<string, number> = {};
  const ids = [...acked];
  for (let i = 0; i < ids.length; i += 100) {
    const got = await Promise.all(ids.slice(i, i + 100).map((id) => client.getJob(id).catch(() => ({ state: "lost" }))));
    for (const j of got) states[j.state] = (states[j.state] ?? 0) + 1;
  }
  await worker.stop({ gracePeriodMs: 0 });
  await client.close();
  const twice = [...runs.values()].filter((n) => n > 1).length;
  const durationMs = Date.now() - began;
  const summary =
    `kill -9 x${kills} during ${acked.size} acknowledged enqueues (${opts.storeArgs[0]}): ${completed.size} completed, ${twice} jobs ran more than once (at-least-once after a crash), ` +
    `${rerunAfterCompleted} ran again after their completion was acknowledged, ${failedEnqueues} enqueue attempts and ${failedSettles} acks failed while the server was down; ${(durationMs / 1000).toFixed(1)} s`;
  return { kills, acked, missing, completed: completed.size, states, twice, rerunAfterCompleted, failedEnqueues, failedSettles, durationMs, summary };
}

/** What every crash run must show: the kills happened, every acknowledged enqueue completed, none ran after its completion. */
export function expectCrashRunHeld(r: CrashReport, kills: number): void {
  console.log(r.summary);
  expect(r.kills).toBe(kills);
  expect(r.missing.length, `acknowledged enqueues never completed (the server holds them as ${JSON.stringify(r.states)})`).toBe(0);
  expect(r.states).toEqual({ completed: r.acked.size });
  expect(r.rerunAfterCompleted).toBe(0);
}
