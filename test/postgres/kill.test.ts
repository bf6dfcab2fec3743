/**
 * Faults of the PostgreSQL store with real processes: a server is killed
 * (SIGKILL) while it holds jobs, and another server on the same database
 * carries on. Each "server" here is the store in a child process
 * (test/fixtures/pg-store-process.ts) with a stream consumer standing for
 * its attached worker.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { PgJobStore } from "../../src/server/store/postgres/pg-store.js";
import { eventually } from "../helpers.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/pg-store-process.ts", import.meta.url));

const pg = usePrivatePostgres();
const children = new Set<ChildProcess>();

interface Ev {
  ev: "ready" | "claim" | "ran";
  id?: string;
  deadline?: number;
}

/** With `cue`, the child opens its consumer only when told to (go()), not once it is ready. */
function startChild(url: string, queue: string, mode: "hold" | "run", leaseMs: number, onEv: (e: Ev, at: number) => void, cue = false): Promise<ChildProcess> {
  // node itself (not the tsx wrapper, which would leave the real process running after its own kill -9).
  const args = ["--import", "tsx", FIXTURE, url, queue, mode, String(leaseMs), ...(cue ? ["cue"] : [])];
  const child = spawn(process.execPath, args, { stdio: [cue ? "pipe" : "ignore", "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`fixture exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let e: Ev;
      try {
        e = JSON.parse(line) as Ev;
      } catch {
        return;
      }
      if (e.ev === "ready") resolve(child);
      onEv(e, Date.now());
    });
  });
}

/** SIGKILL, and proof that the process is gone (the fault happened): its pid no longer answers. */
async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }
  expect(() => process.kill(child.pid!, 0)).toThrow();
}

const job = (queue: string, i: number): NormalizedJobRequest => ({ type: "t", args: [i], queue });

// Registered after the cluster's hooks, so it runs before them: the servers die before the cluster stops.
afterAll(async () => {
  for (const c of children) await kill9(c);
});

describe("PostgreSQL store: servers killed", () => {
  it("two servers on one database, one killed mid-run: the other finishes its jobs after the leases expire, never while another holds them", async () => {
    const url = await pg.cluster.createDatabase("two_servers");
    const producer = await PgJobStore.open(url, { maintenanceIntervalMs: 100 });
    pg.closeAtEnd(producer);
    // Long enough for B to serve before A's leases end, even on a loaded machine. B's process is
    // started (seconds under load) before A claims anything, and only told to serve after.
    const LEASE = 8000;
    // Server A holds 5 jobs (its worker is mid-job); server B runs the rest; then A is killed.
    const heldByA = new Map<string, number>();
    const claimsByB = new Map<string, number>();
    const [a, b] = await Promise.all([
      startChild(url, "two", "hold", LEASE, (e) => {
        if (e.ev === "claim") heldByA.set(e.id!, e.deadline!);
      }),
      startChild(
        url,
        "two",
        "run",
        LEASE,
        (e, at) => {
          if (e.ev === "claim") claimsByB.set(e.id!, at);
        },
        true,
      ),
    ]);
    await producer.enqueueBatch(Array.from({ length: 40 }, (_, i) => ({ req: job("two", i) })));
    await eventually(() => heldByA.size === 5, 10_000);
    b.stdin!.write("go\n");
    await eventually(() => claimsByB.size === 35, 10_000);
    await kill9(a);
    expect(a.signalCode).toBe("SIGKILL");
    // B was serving before A's leases ran out, so it could have taken A's jobs early: it must not.
    expect(Date.now()).toBeLessThan(Math.min(...heldByA.values()));
    await eventually(async () => (await producer.queueSummary("two")).counts.completed === 40, 20_000, 50);
    // Every job A held was run by B, and only once A's lease on it had ended.
    let heldTwice = 0;
    for (const [id, deadline] of heldByA) {
      const at = claimsByB.get(id);
      expect(at, `job ${id} held by the killed server was never run`).toBeDefined();
      if (at! < deadline) heldTwice++;
    }
    console.log(`two servers, one killed: ${heldByA.size} jobs recovered from the killed server, ${heldTwice} held by two at once`);
    expect(heldTwice).toBe(0);
    // The killed server's jobs came back through the reaper, each with its expired attempt on record.
    for (const id of heldByA.keys()) expect((await producer.get(id)).job.errors.map((e) => e.code)).toContain("visibility_timeout");
    expect(claimsByB.size).toBe(40);
  }, 60_000);

  it("a server killed again and again during a run: every acknowledged enqueue completes; jobs run twice are counted", async () => {
    const url = await pg.cluster.createDatabase("kill_loop");
    const producer = await PgJobStore.open(url, { maintenanceIntervalMs: 100 });
    pg.closeAtEnd(producer);
    const TOTAL = 400;
    const KILLS = 8;
    const runs = new Map<string, number>();
    const onEv = (e: Ev) => {
      if (e.ev === "ran") runs.set(e.id!, (runs.get(e.id!) ?? 0) + 1);
    };
    const acknowledged = new Set<string>();
    // Enqueues go on through the kills, one at a time, as a client would.
    const enqueuing = (async () => {
      for (let i = 0; i < TOTAL; i++) {
        const { job: j } = await producer.submit(job("loop", i));
        acknowledged.add(j.job.id);
      }
    })();
    let kills = 0;
    for (; kills < KILLS; kills++) {
      const child = await startChild(url, "loop", "run", 500, onEv);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 300)));
      await kill9(child);
      expect(child.signalCode).toBe("SIGKILL");
    }
    await startChild(url, "loop", "run", 500, onEv);
    await enqueuing;
    await eventually(async () => (await producer.queueSummary("loop")).counts.completed === TOTAL, 30_000, 100);
    const summary = await producer.queueSummary("loop");
    expect(summary.counts.completed).toBe(TOTAL);
    for (const id of acknowledged) expect((await producer.get(id)).job.state).toBe("completed");
    const twice = [...runs.values()].filter((n) => n > 1).length;
    console.log(
      `kill -9 ${kills} times during ${TOTAL} jobs: all ${acknowledged.size} acknowledged enqueues completed; ${twice} jobs ran more than once (at-least-once)`,
    );
    expect(runs.size).toBe(TOTAL);
  }, 120_000);
});
