/**
 * kill -9 of `ojs-connect serve --data DIR`, 20 times, while a client enqueues
 * 2 000 jobs and a worker runs them. Every enqueue the client saw succeed must
 * be completed in the end, and no job the worker saw completed may run again;
 * a job may run twice when the crash came between its run and its ack
 * (at-least-once), and how many did is printed, not hidden. The run itself is
 * test/support/crash-run.ts, shared with the PostgreSQL store's test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, it } from "vitest";
import { expectCrashRunHeld, runCrash, type CrashServers } from "../support/crash-run.js";

const JOBS = 2000;
const KILLS = 20;

const dir = mkdtempSync(join(tmpdir(), "ojs-crash-"));
let servers: CrashServers | undefined;
afterAll(() => {
  servers?.killAll();
  rmSync(dir, { recursive: true, force: true });
});

it(`kill -9 of the server ${KILLS} times during ${JOBS} jobs: every acknowledged enqueue is completed, no completed job runs again`, async () => {
  // A little work per job, so that the run outlasts the 20 kills.
  const r = await runCrash({ storeArgs: ["--data", dir], jobs: JOBS, kills: KILLS, jobWorkMs: 20 }, (s) => (servers = s));
  expectCrashRunHeld(r, KILLS);
  // Twenty server starts under tsx: 70-85 s on a quiet 2-core machine, so the harness allows more.
}, 240_000);
