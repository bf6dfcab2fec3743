/**
 * The web dashboard in a real browser (headless Chromium through
 * playwright-core) against a real server with real jobs: a worker ran some,
 * some failed into the dead-letter queue, a workflow stopped half way, a cron
 * schedule waits. Actions are clicked and their effect read back from the
 * server; live updates are seen without a reload; a server with keys makes
 * the page ask for one. Skipped, with the reason, where there is no Chromium.
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { browserMissing, CHROMIUM, dashboardScenario, type Scenario } from "../support/dashboard-scenario.js";

const missing = browserMissing();
const TOKEN = "tok-dashboard-admin-51c9";

let browser: Browser | undefined;
let s: Scenario | undefined;

beforeAll(async () => {
  if (missing) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  s = await dashboardScenario();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

/** A fresh page with confirm() dialogs accepted; skips the test, with the reason, without a browser. */
async function open(ctx: TestContext, hash: string, url = s?.server.url): Promise<Page> {
  if (missing) ctx.skip(missing);
  const page = await browser!.newPage();
  page.on("dialog", (d) => void d.accept());
  await page.goto(`${url}/ui/${hash}`);
  return page;
}

describe("dashboard in Chromium", { timeout: 60_000 }, () => {
  it("shows the server's queues, counts, throughput chart and dead-letter jobs", async (ctx) => {
    const page = await open(ctx, "#/");
    await page.waitForSelector("table.queues tr[data-queue=mail]");
    expect(await page.textContent("[data-count=discarded] .num")).toBe("2");
    expect(await page.textContent("[data-count=dead_letter] .num")).toBe("2");
    expect(await page.textContent("tr[data-queue=mail]")).toContain("mail");
    expect(await page.locator("svg.chart path.line-processed").count()).toBe(1);
    await page.click("text=Dead letter");
    await page.waitForSelector("table.jobs");
    expect(await page.locator("table.jobs tbody tr").count()).toBe(2);
    expect(await page.textContent("table.jobs")).toContain("550 mailbox unavailable");
    // Filters: the type search and the state filter ask the server again.
    await page.goto(`${s!.server.url}/ui/#/jobs?type=etl.*`);
    await page.waitForSelector("table.jobs");
    const types = await page.locator("table.jobs tbody td:nth-child(2)").allTextContents();
    expect(types.length).toBe(4);
    expect(types.every((t) => t.startsWith("etl."))).toBe(true);
    await page.close();
  });

  it("shows a job's args, result, timeline, and its errors with their backtraces", async (ctx) => {
    const page = await open(ctx, `#/jobs/${s?.completed}`);
    await page.waitForSelector("ol.timeline li");
    expect(await page.textContent("main")).toContain(`<${s!.completed}@mail>`); // the result
    expect(await page.textContent("main")).toContain("ada@example.com"); // the args
    expect(await page.textContent("main")).toContain('"tenant": "acme"'); // the meta
    const timeline = await page.locator("ol.timeline code").allTextContents();
    expect(timeline).toEqual(expect.arrayContaining(["job.enqueued", "job.started", "job.completed"]));

    await page.goto(`${s!.server.url}/ui/#/jobs/${s!.dead[0]}`);
    await page.waitForSelector(".job-error");
    expect(await page.locator(".job-error").count()).toBe(2);
    expect(await page.textContent(".job-error[open] .backtrace")).toMatch(/550 mailbox unavailable[\s\S]*at /);
    expect(await page.textContent("[data-field=attempt]")).toBe("2 of 2");
    await page.close();
  });

  it("draws the workflow as its graph with each step's state, and lists cron schedules with their next runs", async (ctx) => {
    const page = await open(ctx, "#/workflows");
    await page.click(`tr[data-workflow="${s?.workflowId}"] a`);
    await page.waitForSelector("svg.graph g.node");
    const states = await page
      .locator("svg.graph g.node")
      .evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute("data-step")}:${n.getAttribute("data-state")}`));
    expect(states).toEqual(["0:completed", "1.0:completed", "1.1:completed", "2:pending"]);
    expect(await page.locator("svg.graph path.edge").count()).toBe(4);

    await page.click("header >> text=Cron");
    await page.waitForSelector("tr[data-cron=nightly-report]");
    const next = await page.textContent("tr[data-cron=nightly-report] [data-next-run]");
    expect(next).toMatch(/03:00:00/);
    expect(await page.locator("tr[data-cron=nightly-report] td.small div").count()).toBe(4);
    await page.close();
  });

  it("pauses and resumes a queue, and the server says so", async (ctx) => {
    const page = await open(ctx, "#/");
    await page.click("tr[data-queue=reports] button[data-action=pause]");
    await page.waitForSelector("tr[data-queue=reports] [data-queue-state]:text('paused')");
    expect((await s!.client.admin.getQueue("reports")).paused).toBe(true);
    await page.click("tr[data-queue=reports] button[data-action=resume]");
    await page.waitForSelector("tr[data-queue=reports] [data-queue-state]:text('active')");
    expect((await s!.client.admin.getQueue("reports")).paused).toBe(false);
    await page.close();
  });

  it("retries one dead-letter job from its page, then the rest in bulk", async (ctx) => {
    const page = await open(ctx, `#/jobs/${s?.dead[0]}`);
    await page.click("button[data-action=retry]");
    await page.waitForSelector("h1 .badge:text('available')");
    expect((await s!.client.admin.getJob(s!.dead[0]!)).state).toBe("available");

    await page.goto(`${s!.server.url}/ui/#/jobs?dead_letter=true`);
    await page.waitForSelector("table.jobs tbody tr");
    expect(await page.locator("table.jobs tbody tr").count()).toBe(1);
    await page.click("button[data-action=bulk-retry]");
    await page.waitForSelector("text=retried 1 of 1");
    expect((await s!.client.admin.listJobs({ deadLetter: true })).total).toBe(0);
    await page.waitForSelector(".empty:text('no jobs match')");
    await page.close();
  });

  it("shows a job enqueued after the page loaded, without a reload (server event stream)", async (ctx) => {
    const page = await open(ctx, "#/jobs?queue=mail");
    await page.waitForSelector("#live-status:text('live')");
    await page.waitForSelector("table.jobs");
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const job = await s!.client.enqueue("email.send", ["late@example.com"], { queue: "mail" });
    await page.waitForSelector(`tr[data-job="${job.id}"]`, { timeout: 15_000 });
    await page.click("header >> text=Overview");
    const other = await s!.client.enqueue("email.send", ["later@example.com"], { queue: "mail" });
    await page.waitForSelector(`#feed a[href="#/jobs/${other.id}"]`, { timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker)).toBe(42);
    await page.close();
  });

  it("asks for a key on a server with authentication, and works with it (API calls and event stream)", async (ctx) => {
    if (missing) ctx.skip(missing);
    const guarded = await dashboardScenario({ auth: { keys: [{ name: "ops", token: TOKEN, role: "admin" }] } }, TOKEN);
    try {
      const page = await open(ctx, "#/", guarded.server.url);
      await page.waitForSelector(".key-prompt");
      await page.fill(".key-prompt input[name=key]", "not-the-key");
      await page.click(".key-prompt button[type=submit]");
      await page.waitForSelector(".key-prompt p:text('not valid')");
      const sent: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/ojs/")) sent.push(`${new URL(r.url()).pathname} ${r.headers().authorization ?? "-"}`);
      });
      await page.fill(".key-prompt input[name=key]", TOKEN);
      await page.click(".key-prompt button[type=submit]");
      await page.waitForSelector("table.queues tr[data-queue=mail]");
      await page.waitForSelector("#live-status:text('live')");
      expect(await page.locator(".key-prompt").count()).toBe(0);
      expect(sent).toContain(`/ojs/v1/events/stream Bearer ${TOKEN}`);
      expect(sent.filter((l) => !l.endsWith(`Bearer ${TOKEN}`))).toEqual([]);
      const job = await guarded.client.enqueue("email.send", ["x@example.com"], { queue: "mail" });
      await page.waitForSelector(`#feed a[href="#/jobs/${job.id}"]`, { timeout: 15_000 });
      await page.close();
    } finally {
      await guarded.close();
    }
  }, 60_000);
});
