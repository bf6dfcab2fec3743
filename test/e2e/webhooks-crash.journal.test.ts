/**
 * Webhook deliveries across a kill -9 of the server (the real CLI in its own
 * process, on a data directory): every enqueue that was answered has its
 * event delivered after the restart, signed with the subscription's secret,
 * although the endpoint had received none of them (one was in flight, the
 * others waiting) when the server died. The in-flight one keeps its delivery id.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { Client, verifyWebhookSignature } from "../../src/index.js";
import { eventually } from "../helpers.js";

const fixture = join(import.meta.dirname, "..", "fixtures", "journal-server.ts");
const SECRET = "whsec_crash_secret_0123456789";
const JOBS = 20;
const dir = mkdtempSync(join(tmpdir(), "ojs-wh-crash-"));
let child: ChildProcess | undefined;
const hung: ServerResponse[] = [];
const got: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
let answer: "hang" | 200 = "hang";
const rx = createHttpServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (c: string) => (body += c));
  req.on("end", () => {
    got.push({ headers: req.headers, body });
    if (answer === "hang") hung.push(res);
    else res.writeHead(200).end("ok");
  });
});

afterAll(async () => {
  child?.kill("SIGKILL");
  for (const r of hung.splice(0)) r.destroy();
  rx.closeAllConnections();
  await new Promise((r) => rx.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function serve(port: number): Promise<ChildProcess> {
  const c = spawn(process.execPath, ["--import", "tsx", fixture, "serve", "--data", dir, "--port", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    c.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening on")) resolve();
    });
    c.once("exit", (code) => reject(new Error(`server exited with ${code} before listening: ${out}`)));
  });
  return c;
}

it(`kill -9 with ${JOBS} deliveries waiting or in flight: each is delivered after the restart`, async () => {
  await new Promise<void>((r) => rx.listen(0, "127.0.0.1", r));
  const hookUrl = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  child = await serve(port);
  const client = new Client({ url, transport: "http" });
  const ids: string[] = [];
  let inFlight = "";
  try {
    await client.webhooks.create({ url: hookUrl, events: ["job.enqueued"], secret: SECRET, filter: { queues: ["whc"] } });
    for (let i = 0; i < JOBS; i++) ids.push((await client.enqueue("whc.t", [i], { queue: "whc" })).id);
    // The endpoint holds the first delivery; the others wait behind it in the subscription's lane.
    const first = await eventually(() => got[0]);
    inFlight = first.headers["x-ojs-delivery-id"] as string;
    const c = child;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
    expect(got).toHaveLength(1);
    for (const r of hung.splice(0)) r.destroy();

    answer = 200;
    child = await serve(port);
    const delivered = await eventually(() => {
      const jobs = new Set(got.slice(1).map((r) => JSON.parse(r.body).job_id as string));
      return ids.every((id) => jobs.has(id)) ? jobs : undefined;
    }, 15_000);
    expect(delivered.size).toBe(JOBS);
    for (const r of got.slice(1)) {
      expect(
        verifyWebhookSignature(SECRET, { body: r.body, signature: r.headers["x-ojs-signature"] as string, timestamp: r.headers["x-ojs-timestamp"] as string }),
      ).toBe(true);
    }
    expect(got.slice(1).some((r) => r.headers["x-ojs-delivery-id"] === inFlight)).toBe(true);
    // Order is kept across the restart: the one that was in flight goes first.
    expect(JSON.parse(got[1]!.body).job_id).toBe(ids[0]);
  } finally {
    await client.close();
  }
}, 60_000);
