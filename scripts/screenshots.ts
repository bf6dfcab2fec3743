/**
 * `npm run screenshots`: the dashboard's main pages in headless Chromium, over
 * the scenario the browser tests use (test/support/dashboard-scenario.ts),
 * saved as PNG under docs/images/ for the README.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { browserMissing, CHROMIUM, dashboardScenario } from "../test/support/dashboard-scenario.js";

const missing = browserMissing();
if (missing) {
  console.error(`screenshots: ${missing}`);
  process.exit(1);
}
const out = join(import.meta.dirname, "..", "docs", "images");
mkdirSync(out, { recursive: true });
const s = await dashboardScenario();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const shot = async (hash: string, name: string, ready: string) => {
    await page.goto(`${s.server.url}/ui/${hash}`);
    await page.waitForSelector(ready);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `dashboard-${name}.png`), fullPage: true });
    console.log(`docs/images/dashboard-${name}.png`);
  };
  await shot("#/", "overview", "table.queues tr[data-queue=mail]");
  await shot("#/jobs?queue=mail", "jobs", "table.jobs");
  await shot(`#/jobs/${s.dead[0]}`, "job", ".job-error");
  await shot(`#/workflows/${s.workflowId}`, "workflow", "svg.graph");
  await shot("#/cron", "cron", "tr[data-cron]");
} finally {
  await browser.close();
  await s.close();
}
