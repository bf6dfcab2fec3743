/**
 * The dashboard showing encrypted payloads decoded, in headless Chromium: a
 * job whose args and result a Client and Worker encrypted is shown with an
 * "encoded" badge; with a Codec Server set in the page's settings (and
 * allowed by the job server's CSP), the page asks that server, over loopback,
 * and shows the plaintext. The job server never holds the key. Without the
 * setting nothing is sent to the codec server; a wrong token or a server that
 * does not allow the codec origin shows "decode failed: <code>". Skipped,
 * with the reason, where there is no Chromium.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { AesGcmCodec, Client, createCodecServer, Worker, type CodecServer } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { browserMissing, CHROMIUM, ensureUiBuilt } from "../support/dashboard-scenario.js";

const missing = browserMissing();
const TOKEN = "codec-dash-tok-19be";
const codecs = () => [new AesGcmCodec({ keys: { k1: KEY }, currentKeyId: "k1" })];
const KEY = randomBytes(32);

/** The page's storage, as the browser has it (these files compile without the DOM types). */
interface BrowserStorage {
  localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };
  sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void };
}

let browser: Browser | undefined;
let host: Server;
let codecUrl: string;
let codec: CodecServer;
let server: OjsServer; // allows the codec server's origin
let strict: OjsServer; // does not
let jobId: string;
let decodeCalls = 0;

beforeAll(async () => {
  if (missing) return;
  ensureUiBuilt();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  // The codec server's port is needed for the job server's CSP, and the job server's origin for the codec server's CORS.
  host = createServer((req, res) => {
    if (req.url?.endsWith("/codec/decode") && req.method === "POST") decodeCalls++;
    codec.handler(req, res);
  });
  await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
  codecUrl = `http://127.0.0.1:${(host.address() as { port: number }).port}`;
  server = await startServer({ port: 0, ui: { codecServer: codecUrl }, logger: false });
  strict = await startServer({ port: 0, ui: true, logger: false });
  codec = createCodecServer({ codecs: codecs(), auth: { tokens: [TOKEN] }, cors: { origins: [new URL(server.url).origin, new URL(strict.url).origin] } });

  const client = new Client({ url: server.url, transport: "http", codecs: codecs(), logger: false });
  const job = await client.enqueue("payment.charge", [{ card: "4111-secret-card", amount: 4200 }], { queue: "pay" });
  jobId = job.id;
  const worker = new Worker({ url: server.url, transport: "http", queues: ["pay"], codecs: codecs(), handleSignals: false, logger: false });
  worker.register("payment.charge", async () => ({ receipt: "rcpt-plain-77" }));
  const running = worker.start();
  await client.waitForJob(job.id, { timeoutMs: 10_000 });
  await worker.stop();
  await running;
  await client.close();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await strict?.close();
  if (host) await new Promise((r) => host.close(r));
});

/** A page with the codec settings already stored (or none), on the job's page of `base`. */
async function open(ctx: TestContext, settings: { url?: string; token?: string }, base?: string, id?: string): Promise<Page> {
  // Skipped before the defaults are read: without a browser, beforeAll started no server.
  if (missing) ctx.skip(missing);
  const page = await browser!.newPage();
  await page.addInitScript(({ url, token }) => {
    const { localStorage, sessionStorage } = globalThis as unknown as BrowserStorage;
    if (url) localStorage.setItem("ojs-dashboard-codec-server", url);
    if (token) sessionStorage.setItem("ojs-dashboard-codec-token", token);
  }, settings);
  await page.goto(`${base ?? server.url}/ui/#/jobs/${id ?? jobId}`);
  return page;
}

describe("dashboard with a codec server", { timeout: 60_000 }, () => {
  it("without a codec server set: an encoded badge, the ciphertext, and no request to any codec server", async (ctx) => {
    const before = decodeCalls;
    const page = await open(ctx, {});
    await page.waitForSelector("[data-encoded=args]");
    await page.waitForSelector("[data-encoded=result]");
    const main = await page.textContent("main");
    expect(main).toContain('"ojs_encoded": true');
    expect(main).not.toContain("4111-secret-card");
    expect(main).toContain("set a codec server");
    await page.waitForTimeout(300);
    expect(decodeCalls).toBe(before);
    await page.close();
  });

  it("with a codec server set: args and result shown decoded, asked of the codec server, not the job server", async (ctx) => {
    const before = decodeCalls;
    const page = await open(ctx, { url: codecUrl, token: TOKEN });
    await page.waitForSelector("[data-decoded=args]");
    await page.waitForSelector("[data-decoded=result]");
    expect(await page.textContent("[data-payload=args]")).toContain("4111-secret-card");
    expect(await page.textContent("[data-payload=result]")).toContain("rcpt-plain-77");
    expect(await page.locator("[data-encoded=args]").count()).toBe(1); // still says it is stored encoded
    expect(decodeCalls - before).toBe(2);
    // The job server still holds ciphertext only.
    const stored = await (await fetch(`${server.url}/ojs/v1/admin/jobs/${jobId}`)).text();
    expect(stored).not.toContain("4111-secret-card");
    await page.close();
  });

  it("shows decode failed: <code> with a wrong token, and when the job server's CSP does not allow the codec origin", async (ctx) => {
    const page = await open(ctx, { url: codecUrl, token: "wrong" });
    await page.waitForSelector("[data-decode-failed=args]");
    expect(await page.textContent("[data-decode-failed=args]")).toBe("decode failed: unauthenticated");
    expect(await page.textContent("main")).not.toContain("4111-secret-card");
    await page.close();

    // A server started without ui.codecServer: the codec server would answer (its CORS allows that
    // origin), so a call that never arrives shows the page's CSP stopped it.
    const before = decodeCalls;
    const client = new Client({ url: strict.url, transport: "http", codecs: codecs(), logger: false });
    const job = await client.enqueue("payment.charge", [{ card: "4111-secret-card" }]);
    await client.close();
    const page2 = await open(ctx, { url: codecUrl, token: TOKEN }, strict.url, job.id);
    await page2.waitForSelector("[data-decode-failed=args]");
    expect(await page2.textContent("[data-decode-failed=args]")).toBe("decode failed: unreachable");
    expect(decodeCalls).toBe(before);
    await page2.close();
  });

  it("the settings dialog stores the URL (localStorage) and the token (sessionStorage), then decodes", async (ctx) => {
    const page = await open(ctx, {});
    await page.waitForSelector("[data-encoded=args]");
    await page.click("button[data-action=settings]");
    await page.fill(".codec-settings input[name=codec-server]", codecUrl);
    await page.fill(".codec-settings input[name=codec-token]", TOKEN);
    await page.click(".codec-settings button[type=submit]");
    await page.waitForSelector("[data-decoded=args]");
    expect(
      await page.evaluate(() => {
        const { localStorage, sessionStorage } = globalThis as unknown as BrowserStorage;
        return [
          localStorage.getItem("ojs-dashboard-codec-server"),
          localStorage.getItem("ojs-dashboard-codec-token"),
          sessionStorage.getItem("ojs-dashboard-codec-token"),
        ];
      }),
    ).toEqual([codecUrl, null, TOKEN]);
    await page.close();
  });
});
