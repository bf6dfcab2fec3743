/**
 * Testing job code with ojs-connect/testing, under vitest. Copy this file and
 * replace the "application" part with imports from your own code.
 *
 * - A fake client: no server, no sockets, virtual time. Your code gets a real
 *   Client; the test asserts on what it enqueued, runs the jobs with drain()
 *   and moves time with advanceTime().
 * - Inline mode: every enqueue runs its job at once; handler errors reach the caller.
 * - A real server in one line: startTestServer(), for end-to-end tests.
 */
import { Client, NonRetryableError, Worker, type Job, type WorkerOptions } from "ojs-connect";
import { createFakeClient, startTestServer } from "ojs-connect/testing";
import { afterAll, beforeEach, describe, expect, it } from "vitest";

// --- the application under test (normally imported from your own modules) ---------------

interface Mailer {
  send(to: string, template: string): Promise<void>;
}

/** Signs a user up: a welcome email now, a CRM sync ten minutes later. */
async function signUp(ojs: Client, email: string): Promise<Job> {
  const welcome = await ojs.enqueue("email.welcome", [email], { queue: "mail", retry: { maxAttempts: 3, initialInterval: "PT30S" } });
  await ojs.enqueue("crm.sync", [{ email }], { delay: "PT10M", meta: { source: "signup" } });
  return welcome;
}

/** What each job does. The same function builds the production worker. */
function createWorker(ojs: Client, mailer: Mailer, options: WorkerOptions = {}): Worker {
  const worker = new Worker({ queues: ["mail", "default"], ...options });
  worker.register("email.welcome", async (ctx) => {
    const to = String(ctx.args[0]);
    if (!to.includes("@")) throw new NonRetryableError(`not an address: ${to}`, { code: "email.invalid" });
    await mailer.send(to, "welcome");
    await ojs.enqueue("email.tips", [to], { queue: "mail", delay: "P1D" });
    return { sent: true };
  });
  worker.register("email.tips", async (ctx) => {
    await mailer.send(String(ctx.args[0]), "tips");
  });
  worker.register("crm.sync", async () => ({ synced: true }));
  return worker;
}

// --- test doubles --------------------------------------------------------------------------------

/** A mailer that records what it sent and can be told to fail. */
function fakeMailer() {
  const sent: string[] = [];
  let failures = 0;
  return {
    sent,
    failNext(n = 1) {
      failures = n;
    },
    async send(to: string, template: string) {
      if (failures > 0) {
        failures--;
        throw Object.assign(new Error("SMTP 451: try again later"), { code: "smtp.busy" });
      }
      sent.push(`${template} -> ${to}`);
    },
  };
}

/** Test workers must not take over the test process's SIGTERM/SIGINT. */
const testWorker = { handleSignals: false };

// --- a fake client -------------------------------------------------------------------------------

describe("sign-up, with a fake client", () => {
  it("enqueues a welcome email and a delayed CRM sync", async () => {
    await using ojs = createFakeClient();

    await signUp(ojs, "ada@example.com");

    ojs.assertEnqueued("email.welcome", { args: ["ada@example.com"], queue: "mail", count: 1 });
    ojs.assertEnqueued("crm.sync", { meta: { source: "signup" } });
    ojs.refuteEnqueued("email.tips");
    const [sync] = ojs.allEnqueued({ type: "crm.sync" });
    expect(sync?.scheduledAt).toEqual(new Date(ojs.now().getTime() + 10 * 60_000));
  });

  it("sends the welcome email, retrying while the mail server is busy", async () => {
    const mailer = fakeMailer();
    await using ojs = createFakeClient();
    ojs.useHandlers(createWorker(ojs, mailer, testWorker));
    mailer.failNext();

    await signUp(ojs, "ada@example.com");
    // Runs everything, jobs enqueued by handlers too, moving virtual time to each
    // retry and delayed job: the 30 s backoff and the 1-day delay take no real time.
    const result = await ojs.drain();

    expect(result).toMatchObject({ completed: 3, retried: 1, discarded: 0 });
    expect(mailer.sent).toEqual(["welcome -> ada@example.com", "tips -> ada@example.com"]);
    ojs.assertCompleted("email.welcome");
    ojs.assertPerformed("email.welcome", { count: 2 }); // the failed attempt and the one that worked
  });

  it("runs the CRM sync once ten minutes have passed, not before", async () => {
    await using ojs = createFakeClient();
    ojs.useHandlers(createWorker(ojs, fakeMailer(), testWorker));
    await signUp(ojs, "ada@example.com");

    await ojs.drain({ withScheduled: false }); // only what is due now
    ojs.refutePerformed("crm.sync");

    ojs.advanceTime("PT10M");
    await ojs.drain({ withScheduled: false });
    ojs.assertCompleted("crm.sync");
  });

  it("fails an invalid address for good, without retrying it", async () => {
    await using ojs = createFakeClient();
    ojs.useHandlers(createWorker(ojs, fakeMailer(), testWorker));

    await ojs.enqueue("email.welcome", ["not-an-address"], { queue: "mail" });
    const result = await ojs.drain();

    expect(result).toMatchObject({ processed: 1, discarded: 1 });
    ojs.assertFailed("email.welcome");
  });

  it("can fail a job type without touching its handler", async () => {
    await using ojs = createFakeClient();
    ojs.useHandlers(createWorker(ojs, fakeMailer(), testWorker));
    ojs.failAll("email.welcome", new NonRetryableError("mailbox closed"));

    await signUp(ojs, "ada@example.com");
    await ojs.drain();

    ojs.assertFailed("email.welcome");
    ojs.refuteEnqueued("email.tips");
  });
});

// --- inline mode ---------------------------------------------------------------------------------

describe("sign-up, in inline mode", () => {
  it("runs each job as it is enqueued; a handler's error reaches the caller", async () => {
    const mailer = fakeMailer();
    await using ojs = createFakeClient({ inline: true });
    ojs.useHandlers(createWorker(ojs, mailer, testWorker));

    await signUp(ojs, "ada@example.com");
    // Inline mode ignores delays: the tips email went out at once.
    expect(mailer.sent).toEqual(["welcome -> ada@example.com", "tips -> ada@example.com"]);

    mailer.failNext();
    await expect(signUp(ojs, "bob@example.com")).rejects.toThrow("SMTP 451"); // and never retries
  });
});

// --- a real server -------------------------------------------------------------------------------

describe("sign-up, against a real server", () => {
  // One server for this file, closed after its last test and emptied before each.
  const server = startTestServer({ cleanup: afterAll });
  beforeEach(async () => (await server).reset());

  it("a real worker sends the welcome email", async () => {
    const { url, client, waitForJob } = await server;
    const mailer = fakeMailer();
    const ojs = client(); // closed with the server
    await using worker = createWorker(ojs, mailer, { ...testWorker, url });
    void worker.start();

    const welcome = await signUp(ojs, "ada@example.com");

    expect(await waitForJob(welcome.id)).toMatchObject({ state: "completed", result: { sent: true } });
    expect(mailer.sent).toEqual(["welcome -> ada@example.com"]);
  });
});
