/**
 * kill -9 of `ojs-connect serve --store postgres://...`, 20 times, while a
 * client enqueues 2 000 jobs and a worker runs them (the journal's test, same
 * driver: test/support/crash-run.ts). Every enqueue the client saw succeed
 * must be completed in the end, and no job the worker saw completed may run
 * again; the jobs run twice (at-least-once after a crash) are printed, not
 * hidden. A private cluster; skipped, with the reason printed, where the
 * PostgreSQL binaries are missing.
 */
import { afterAll, it } from "vitest";
import { expectCrashRunHeld, runCrash, type CrashServers } from "../support/crash-run.js";
import { usePrivatePostgres } from "../support/postgres-file.js";

const JOBS = 2000;
const KILLS = 20;

// What is killed is the server, not the database: the quick (fsync off) test cluster keeps every commit through that.
const pg = usePrivatePostgres();
let servers: CrashServers | undefined;
// Registered after the cluster's hooks, so it runs before them: the servers die before the cluster stops.
afterAll(() => {
  servers?.killAll();
});

it(`kill -9 of the server ${KILLS} times during ${JOBS} jobs on PostgreSQL: every acknowledged enqueue is completed, no completed job runs again`, async () => {
  const url = await pg.cluster.createDatabase("crash");
  // 5 ms of work per job: restarts (a pool and LISTEN to open) set the pace; measured 135 s at load average 14 on 2 cores with 20 ms.
  const r = await runCrash({ storeArgs: ["--store", url], jobs: JOBS, kills: KILLS, jobWorkMs: 5 }, (s) => (servers = s));
  expectCrashRunHeld(r, KILLS);
}, 240_000);
