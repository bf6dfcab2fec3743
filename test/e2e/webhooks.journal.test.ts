/**
 * Webhooks and tenant limits with the journal store: a real server on a data
 * directory is closed and started again. A subscription (with its secret)
 * survives and keeps delivering, signed, to a loopback receiver; a delivery
 * that was waiting for its retry, or was in flight, when the server stopped is
 * sent after the restart with the same delivery id (at least once); a
 * deleted subscription and a removed limit stay gone; a tenant's
 * max_queue_depth is still enforced; compaction keeps all of it.
 */
import { statSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client, RateLimitedError, verifyWebhookSignature } from "../../src/index.js";
import { startServer, type ServerOptions } from "../../src/server/server.js";
import { serverCore } from "../../src/server/internal.js";
import { eventually, TRANSPORTS } from "../helpers.js";
import { Receiver, type Received } from "../support/webhook-receiver.js";
import { useTempDirs } from "../support/temp-dirs.js";

const SECRET = "whsec_journal_secret_0123456789";
const dataDir = useTempDirs("ojs-wh-journal-");
let rx: Receiver;

beforeAll(async () => {
  rx = new Receiver();
  await rx.start();
});
afterAll(async () => {
  await rx.stop();
});
afterEach(() => {
  rx.got.length = 0;
  rx.answer = () => 200;
});

function signedBy(secret: string, r: Received): boolean {
  return verifyWebhookSignature(secret, { body: r.body, signature: r.headers["x-ojs-signature"] as string, timestamp: r.headers["x-ojs-timestamp"] as string });
}

async function putLimit(url: string, tenant: string, max: number | null): Promise<void> {
  const res = await fetch(`${url}/ojs/v1/admin/tenants/${tenant}/limits`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ max_queue_depth: max }),
  });
  expect(res.status).toBe(200);
}

/** Runs `fn` against a server on `dir`, then closes it. */
async function withServer(
  dir: string,
  transport: (typeof TRANSPORTS)[number],
  fn: (c: Client, url: string, server: Awaited<ReturnType<typeof startServer>>) => Promise<void>,
  opts: ServerOptions = {},
): Promise<void> {
  const server = await startServer({ port: 0, dataDir: dir, webhooks: { backoffMs: [400, 400], timeoutMs: 2000 }, ...opts });
  const c = new Client({ url: server.url, transport });
  try {
    await fn(c, server.url, server);
  } finally {
    await c.close();
    await server.close();
  }
}

describe.each(TRANSPORTS)("webhooks and tenant limits in the journal, over %s", (transport) => {
  it("a subscription (and its secret) and a tenant limit survive a restart; deletes and removals stay gone", async () => {
    const dir = dataDir();
    let kept = "";
    await withServer(dir, transport, async (c, url) => {
      kept = (await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: ["whj"] }, metadata: { team: "ops" } })).id;
      const gone = await c.webhooks.create({ url: rx.url, events: ["job.*"] });
      await c.webhooks.delete(gone.id);
      await putLimit(url, "acme", 1);
      await putLimit(url, "beta", 1);
      await putLimit(url, "beta", null);
      const acme = new Client({ url, transport, tenant: "acme" });
      await acme.enqueue("whj.l", [1], { queue: "whj-l" }).finally(() => acme.close());
    });
    // The journal holds the secrets: readable by its owner only.
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".log"))) expect(statSync(join(dir, f)).mode & 0o077).toBe(0);

    await withServer(dir, transport, async (c, url) => {
      const subs = await c.webhooks.list();
      expect(subs.map((s) => s.id)).toEqual([kept]);
      expect(subs[0]).toMatchObject({ url: rx.url, events: ["job.enqueued"], active: true, filter: { queues: ["whj"] }, metadata: { team: "ops" } });
      expect(subs[0]!.createdAt).toBeInstanceOf(Date);
      // Still delivering, signed with the secret it was created with.
      const job = await c.enqueue("whj.t", [1], { queue: "whj" });
      const r = await eventually(() => rx.got.find((x) => JSON.parse(x.body).job_id === job.id));
      expect(r.headers["x-ojs-subscription-id"]).toBe(kept);
      expect(signedBy(SECRET, r)).toBe(true);

      // The tenant limit is still enforced (acme is at it with the job from before the restart); the removed one is not.
      const acme = new Client({ url, transport, tenant: "acme" });
      const beta = new Client({ url, transport, tenant: "beta" });
      try {
        await expect(acme.enqueue("whj.l", [2], { queue: "whj-l" })).rejects.toBeInstanceOf(RateLimitedError);
        await beta.enqueue("whj.l", [1], { queue: "whj-l" });
        await beta.enqueue("whj.l", [2], { queue: "whj-l" });
      } finally {
        await acme.close();
        await beta.close();
      }
    });
  }, 30_000);

  it("a rotated secret survives a restart: deliveries are signed with the new one (and the old during its overlap)", async () => {
    const dir = dataDir();
    let id = "";
    let fresh = "";
    await withServer(dir, transport, async (c) => {
      id = (await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: ["whj-rot"] } })).id;
      fresh = (await c.webhooks.rotateSecret(id)).secret!;
    });
    await withServer(dir, transport, async (c) => {
      const job = await c.enqueue("whj.r", [1], { queue: "whj-rot" });
      const r = await eventually(() => rx.got.find((x) => JSON.parse(x.body).job_id === job.id));
      expect(signedBy(fresh, r)).toBe(true);
      expect(signedBy(SECRET, r)).toBe(true);
    });
  }, 30_000);

  it("a delivery waiting for its retry when the server stopped is sent after the restart, same delivery id", async () => {
    const dir = dataDir();
    let jobId = "";
    let deliveryId = "";
    // A retry delay longer than this server lives; the restarted server keeps the time it was due.
    const slow: ServerOptions = { webhooks: { backoffMs: [2000, 2000], timeoutMs: 2000 } };
    rx.answer = () => 503;
    await withServer(
      dir,
      transport,
      async (c) => {
        const sub = await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: ["whj-retry"] } });
        jobId = (await c.enqueue("whj.w", [1], { queue: "whj-retry" })).id;
        const d = await eventually(async () => (await c.webhooks.listDeliveries({ subscriptionId: sub.id })).deliveries.find((x) => x.status === "retrying"));
        deliveryId = d.id;
        expect(d.attempts.map((a) => a.statusCode)).toEqual([503]);
      },
      slow,
    );
    expect(rx.got).toHaveLength(1);
    rx.answer = () => 200;
    await withServer(
      dir,
      transport,
      async (c) => {
        const r = await eventually(() => rx.got[1]);
        expect(r.headers["x-ojs-delivery-id"]).toBe(deliveryId);
        expect(JSON.parse(r.body)).toMatchObject({ type: "job.enqueued", job_id: jobId });
        expect(signedBy(SECRET, r)).toBe(true);
        const d = await eventually(async () => {
          const got = await c.webhooks.getDelivery(deliveryId);
          return got.status === "delivered" ? got : undefined;
        });
        expect(d.attempts.map((a) => a.statusCode)).toEqual([503, 200]);
      },
      slow,
    );
    // Delivered is final: the next start sends nothing more.
    await withServer(dir, transport, async (c) => {
      expect((await c.webhooks.getDelivery(deliveryId)).status).toBe("delivered");
      await new Promise((r) => setTimeout(r, 200));
      expect(rx.got).toHaveLength(2);
    });
  }, 30_000);

  it("a delivery in flight when the server stopped is sent again after the restart (at least once)", async () => {
    const dir = dataDir();
    let deliveryId = "";
    rx.answer = () => "hang";
    await withServer(dir, transport, async (c) => {
      await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: ["whj-fly"] } });
      await c.enqueue("whj.f", [1], { queue: "whj-fly" });
      const r = await eventually(() => rx.got[0]);
      deliveryId = r.headers["x-ojs-delivery-id"] as string;
    });
    rx.answer = () => 200;
    await withServer(dir, transport, async (c) => {
      const r = await eventually(() => rx.got[1]);
      expect(r.headers["x-ojs-delivery-id"]).toBe(deliveryId);
      expect(signedBy(SECRET, r)).toBe(true);
      await eventually(async () => (await c.webhooks.getDelivery(deliveryId)).status === "delivered");
    });
  }, 30_000);

  it("compaction keeps subscriptions, deliveries and limits", async () => {
    const dir = dataDir();
    let id = "";
    let compactions = 0;
    await withServer(
      dir,
      transport,
      async (c, url, server) => {
        id = (await c.webhooks.create({ url: rx.url, events: ["job.completed"], secret: SECRET, filter: { queues: ["whj-cmp"] } })).id;
        await putLimit(url, "acme", 3);
        // Enough writes to pass the (tiny) threshold several times over.
        for (let i = 0; i < 30; i++) await c.enqueue("whj.c", [i, "x".repeat(200)], { queue: "whj-cmp-fill" });
        compactions = serverCore(server).journal!.stats.compactions;
      },
      { journalCompactAtBytes: 2048 },
    );
    expect(compactions).toBeGreaterThan(0);
    await withServer(dir, transport, async (c, url) => {
      expect((await c.webhooks.list()).map((s) => s.id)).toEqual([id]);
      const acme = new Client({ url, transport, tenant: "acme" });
      try {
        for (let i = 0; i < 3; i++) await acme.enqueue("whj.c", [i], { queue: "whj-cmp" });
        await expect(acme.enqueue("whj.c", [4], { queue: "whj-cmp" })).rejects.toBeInstanceOf(RateLimitedError);
      } finally {
        await acme.close();
      }
    });
  }, 30_000);
});
