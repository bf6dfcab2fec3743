/**
 * The webhooks extension end to end: a real HTTP receiver on loopback gets
 * signed deliveries (checked here with verifyWebhookSignature), a 500 is
 * retried with the same delivery id, the per-subscription queue drops its
 * oldest when full and counts it, a hung endpoint never holds up jobs, and
 * client.webhooks manages it all over both transports.
 */
import { createHmac } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError, verifyWebhookSignature, type Client } from "../../src/index.js";
import { client, eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";
import { Receiver, type Received } from "../support/webhook-receiver.js";

const SECRET = "whsec_test_secret_0123456789";
const ctx = useServer({ webhooks: { backoffMs: [50, 50, 50], timeoutMs: 500, queueCapacity: 3 } });

describe.each(TRANSPORTS)("webhooks over %s", (transport) => {
  let rx: Receiver;
  let c: Client;
  beforeAll(async () => {
    rx = new Receiver();
    await rx.start();
    c = client(ctx.url, transport);
  });
  afterAll(async () => {
    await c.close();
    await rx.stop();
  });
  afterEach(async () => {
    for (const s of await c.webhooks.list()) await c.webhooks.delete(s.id);
    rx.release();
    rx.got.length = 0;
    rx.answer = () => 200;
  });

  it("delivers signed events; a 500 is retried with the same delivery id; attempts are visible", async () => {
    const queue = uniqueQueue("wh");
    rx.answer = (n) => (n === 1 ? 500 : 200);
    const sub = await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: [queue] } });
    expect(sub.secret).toBe(SECRET);
    const job = await c.enqueue("wh.test", [1], { queue });
    await eventually(() => rx.got.length >= 2);
    const [first, second] = rx.got as [Received, Received];
    for (const r of [first, second]) {
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["x-ojs-event-type"]).toBe("job.enqueued");
      expect(r.headers["x-ojs-subscription-id"]).toBe(sub.id);
      expect(r.headers["user-agent"]).toMatch(/^OJS-Webhook\//);
      const ok = verifyWebhookSignature(SECRET, {
        body: r.body,
        signature: r.headers["x-ojs-signature"] as string,
        timestamp: r.headers["x-ojs-timestamp"] as string,
      });
      expect(ok).toBe(true);
      // The spec's formula, computed here independently of the SDK (§8.1).
      const ts = r.headers["x-ojs-timestamp"] as string;
      expect(r.headers["x-ojs-signature"]).toBe(`sha256=${createHmac("sha256", SECRET).update(`${ts}.${r.body}`).digest("hex")}`);
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      expect(
        verifyWebhookSignature("whsec_wrong_secret_000", {
          body: r.body,
          signature: r.headers["x-ojs-signature"] as string,
          timestamp: r.headers["x-ojs-timestamp"] as string,
        }),
      ).toBe(false);
      expect(JSON.parse(r.body)).toMatchObject({ type: "job.enqueued", job_id: job.id, queue });
    }
    expect(second.headers["x-ojs-delivery-id"]).toBe(first.headers["x-ojs-delivery-id"]);
    const { deliveries, counters } = await c.webhooks.listDeliveries({ subscriptionId: sub.id });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      id: first.headers["x-ojs-delivery-id"],
      subscriptionId: sub.id,
      eventType: "job.enqueued",
      status: "delivered",
      jobId: job.id,
    });
    expect(deliveries[0]!.eventId).not.toBe("");
    expect(deliveries[0]!.attempts.map((a) => a.statusCode)).toEqual([500, 200]);
    expect(counters.failedAttempts).toBeGreaterThanOrEqual(1);
    expect((await c.webhooks.getDelivery(deliveries[0]!.id)).status).toBe("delivered");
  });

  it("delivers one subscription's events in order, at least once each", async () => {
    const queue = uniqueQueue("wh");
    rx.answer = (n) => (n % 3 === 0 ? 503 : 200);
    await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: [queue] } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.enqueue("wh.order", [i], { queue })).id);
    await eventually(
      () => new Set(rx.got.filter((r) => r.headers["x-ojs-event-type"] === "job.enqueued").map((r) => JSON.parse(r.body).job_id)).size === 3,
      5000,
    );
    const seen = rx.got.map((r) => JSON.parse(r.body).job_id as string);
    const firstSeen = ids.map((id) => seen.indexOf(id));
    expect([...firstSeen].sort((a, b) => a - b)).toEqual(firstSeen);
  });

  it("never shows the secret after create; refuses non-http(s) URLs; rotation signs with both secrets", async () => {
    const sub = await c.webhooks.create({ url: rx.url, events: ["job.*"] });
    expect(sub.secret).toMatch(/^whsec_/);
    expect((await c.webhooks.get(sub.id)).secret).toBeUndefined();
    expect((await c.webhooks.list()).every((s) => s.secret === undefined)).toBe(true);
    await expect(c.webhooks.create({ url: "ftp://127.0.0.1/x", events: ["job.*"] })).rejects.toBeInstanceOf(ValidationError);
    const rotated = await c.webhooks.rotateSecret(sub.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(sub.secret);
    const t = await c.webhooks.test(sub.id);
    expect(t).toMatchObject({ success: true, statusCode: 200 });
    const r = rx.got.at(-1)!;
    expect(r.headers["x-ojs-event-type"]).toBe("webhook.test");
    const input = { body: r.body, signature: r.headers["x-ojs-signature"] as string, timestamp: r.headers["x-ojs-timestamp"] as string };
    expect(verifyWebhookSignature(rotated.secret!, input)).toBe(true);
    expect(verifyWebhookSignature(sub.secret!, input)).toBe(true);
    await c.webhooks.delete(sub.id);
    await expect(c.webhooks.get(sub.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("a hung endpoint holds up no job; its full queue drops the oldest and counts it; a timeout is an attempt that failed", async () => {
    const queue = uniqueQueue("wh");
    rx.answer = () => "hang";
    const sub = await c.webhooks.create({ url: rx.url, events: ["job.enqueued", "job.completed"], secret: SECRET, filter: { queues: [queue] } });
    const before = (await c.webhooks.listDeliveries()).counters.dropped;
    // 1 in flight (hung) + 3 waiting fit; the rest push out the oldest waiting ones.
    const jobs = [];
    for (let i = 0; i < 8; i++) jobs.push(await c.enqueue("wh.flood", [i], { queue }));
    // The job lifecycle goes on while the endpoint hangs.
    expect(jobs.every((j) => j.state === "available")).toBe(true);
    const { counters } = await c.webhooks.listDeliveries();
    expect(counters.dropped - before).toBeGreaterThanOrEqual(4);
    const dropped = await c.webhooks.listDeliveries({ subscriptionId: sub.id, status: "dropped" });
    expect(dropped.deliveries.length).toBeGreaterThanOrEqual(4);
    // The hung request times out (500 ms): the attempt says so and a retry is scheduled.
    const timedOut = await eventually(
      async () => (await c.webhooks.listDeliveries({ subscriptionId: sub.id })).deliveries.find((d) => d.attempts.some((a) => /timed out/.test(a.error ?? ""))),
      5000,
    );
    expect(timedOut.attempts[0]!.statusCode).toBeUndefined();
  });

  it("a 4xx is final (dead, not retried) and retryDelivery sends it again with the same id", async () => {
    const queue = uniqueQueue("wh");
    rx.answer = (n) => (n === 1 ? 410 : 200);
    const sub = await c.webhooks.create({ url: rx.url, events: ["job.enqueued"], secret: SECRET, filter: { queues: [queue] } });
    await c.enqueue("wh.dead", [], { queue });
    const dead = await eventually(async () => (await c.webhooks.listDeliveries({ subscriptionId: sub.id, status: "dead" })).deliveries[0]);
    expect(dead.attempts.map((a) => a.statusCode)).toEqual([410]);
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.got).toHaveLength(1);
    await c.webhooks.retryDelivery(dead.id);
    await eventually(async () => (await c.webhooks.getDelivery(dead.id)).status === "delivered");
    expect(rx.got.map((r) => r.headers["x-ojs-delivery-id"])).toEqual([dead.id, dead.id]);
  });
});
