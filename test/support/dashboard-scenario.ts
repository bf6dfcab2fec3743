/**
 * A server with something to look at, for the dashboard's browser tests and
 * its screenshots: jobs done by a real worker, jobs failed into the dead-letter
 * queue, jobs waiting and scheduled, a workflow part done, a cron schedule.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chain, Client, group, step, Worker } from "../../src/index.js";
import { startServer, type OjsServer, type ServerOptions } from "../../src/server/index.js";

export const CHROMIUM = process.env.OJS_CHROMIUM ?? "/usr/bin/chromium";
/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;
}

/** Builds dist/ui when a test file runs alone (npm test builds it before vitest). */
export function ensureUiBuilt(): void {
  const root = join(import.meta.dirname, "..", "..");
  // --if-missing: two test files that build at once do not remove each other's files.
  if (!existsSync(join(root, "dist", "ui", "index.html")))
    execFileSync(process.execPath, [join(root, "scripts", "build-ui.mjs"), "--if-missing"], { stdio: "pipe" });
}

export interface Scenario {
  server: OjsServer;
  client: Client;
  completed: string;
  dead: string[];
  workflowId: string;
  close(): Promise<void>;
}

export async function dashboardScenario(opts: ServerOptions = {}, token?: string): Promise<Scenario> {
  ensureUiBuilt();
  const server = await startServer({ port: 0, ui: true, logger: false, ...opts });
  const auth = token ? { auth: { token } } : {};
  const client = new Client({ url: server.url, transport: "http", logger: false, ...auth });
  const done = await client.enqueue("email.send", ["ada@example.com"], { queue: "mail", meta: { tenant: "acme" } });
  for (let i = 0; i < 4; i++) await client.enqueue("email.send", [`user${i}@example.com`], { queue: "mail" });
  const dead: string[] = [];
  for (const to of ["bounce@example.com", "spam@example.com"])
    dead.push(
      (await client.enqueue("email.send", [to], { queue: "mail", retry: { maxAttempts: 2, initialInterval: "PT0.01S", onExhaustion: "dead_letter" } })).id,
    );
  await client.enqueue("report.build", [{ month: "2026-11" }], { queue: "reports", delay: 3_600_000 });
  const wf = await client.workflow(
    chain("nightly-etl", [
      step("etl.extract", ["s3://bucket/day"]),
      group("transform", [step("etl.clean", [1]), step("etl.clean", [2])]),
      step("etl.load", [], { queue: "warehouse" }),
    ]),
  );
  await client.registerCronJob({ name: "nightly-report", cron: "0 3 * * *", timezone: "UTC", type: "report.build", args: [], options: { queue: "reports" } });

  // One worker does mail and the first steps of the workflow; "warehouse" has no worker, so the
  // workflow stops at its last step and shows steps in several states.
  const worker = new Worker({ url: server.url, transport: "http", queues: ["mail", "default"], handleSignals: false, logger: false, ...auth });
  worker.register("email.send", async (ctx) => {
    const to = String(ctx.job.args[0]);
    ctx.progress({ progress: 0.5, message: `sending to ${to}` });
    if (to.startsWith("bounce") || to.startsWith("spam")) throw new Error(`550 mailbox unavailable: ${to}`);
    return { messageId: `<${ctx.job.id}@mail>` };
  });
  worker.register("etl.extract", async () => ({ rows: 1200 }));
  worker.register("etl.clean", async (ctx) => ({ cleaned: ctx.job.args[0] ?? null }));
  const running = worker.start();
  const until = Date.now() + 10_000;
  for (;;) {
    const deadNow = (await client.admin.listJobs({ deadLetter: true })).total;
    const wfNow = await client.getWorkflow(wf.id);
    const stepsDone = wfNow.steps.filter((s) => s.state === "completed").length;
    if (deadNow >= dead.length && stepsDone >= 3) break;
    if (Date.now() > until) throw new Error(`scenario did not settle: ${deadNow} dead, ${stepsDone} steps done`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await worker.stop();
  await running;
  return {
    server,
    client,
    completed: done.id,
    dead,
    workflowId: wf.id,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}
