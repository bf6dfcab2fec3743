/**
 * Webhook subscriptions, deliveries and tenant limits in the journal, driven
 * directly with real files: a conformance reset forgets them on disk as in
 * memory, a deleted subscription's waiting delivery comes back cancelled, a
 * close keeps a retry's due time, and waiting deliveries beyond the delivery
 * log's bound are kept too.
 * The restart path over the network is in test/e2e/webhooks.journal.test.ts.
 */
import { expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { Journal } from "../../src/server/store/journal/journal.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tmp = useTempDirs("ojs-wh-journal-unit-");

async function open(dir: string, historySize?: number) {
  // A port nobody listens on (1): deliveries fail at once and wait for a long retry.
  const core = new ServerCore({ webhooks: { backoffMs: [3_600_000], timeoutMs: 1000, ...(historySize !== undefined ? { historySize } : {}) } });
  core.journal = await Journal.open(core, { dir, log: () => {}, fsync: "none" });
  return { core, journal: core.journal };
}

async function closeAll(x: { core: ServerCore; journal: Journal }): Promise<void> {
  x.core.close();
  await x.journal.close();
}

it("a reset forgets subscriptions, deliveries and limits on disk too", async () => {
  const dir = tmp();
  const a = await open(dir);
  a.core.webhooks.create({ url: "http://127.0.0.1:1/hook", events: ["job.*"] });
  a.core.tenants.configure("acme", { max_queue_depth: 5 });
  a.core.store.enqueue({ type: "t.x", args: [], queue: "q" } as never);
  await a.core.durable();
  expect(a.core.webhooks.deliverer.list()).toHaveLength(1);
  a.core.reset();
  await a.core.durable();
  await closeAll(a);

  const b = await open(dir);
  expect(b.core.webhooks.registry.size).toBe(0);
  expect(b.core.webhooks.deliverer.list()).toHaveLength(0);
  expect(b.core.tenants.get("acme")).toBeUndefined();
  await closeAll(b);
});

it("a waiting delivery whose subscription was deleted comes back cancelled, never sent", async () => {
  const dir = tmp();
  const a = await open(dir);
  const sub = a.core.webhooks.create({ url: "http://127.0.0.1:1/hook", events: ["job.enqueued"] });
  a.core.store.enqueue({ type: "t.x", args: [], queue: "q" } as never);
  const [d] = a.core.webhooks.deliverer.list();
  a.core.webhooks.delete(sub.id);
  expect(d!.status).toBe("cancelled");
  await a.core.durable();
  await closeAll(a);

  const b = await open(dir);
  expect(b.core.webhooks.deliverer.get(d!.id)).toMatchObject({ status: "cancelled" });
  expect(b.core.webhooks.deliverer.backlog).toBe(0);
  await closeAll(b);
});

it("closing keeps a waiting delivery waiting, with its scheduled retry time", async () => {
  const dir = tmp();
  const a = await open(dir);
  a.core.webhooks.create({ url: "http://127.0.0.1:1/hook", events: ["job.enqueued"] });
  a.core.store.enqueue({ type: "t.x", args: [], queue: "q" } as never);
  const [d] = a.core.webhooks.deliverer.list();
  // The connection to port 1 is refused: one failed attempt, then a retry an hour away.
  for (let i = 0; i < 500 && d!.status !== "retrying"; i++) await new Promise((r) => setTimeout(r, 10));
  expect(d!.status).toBe("retrying");
  const due = d!.nextAttemptAt!.getTime();
  await closeAll(a);

  const b = await open(dir);
  const back = b.core.webhooks.deliverer.get(d!.id);
  expect(back.status).toBe("retrying");
  expect(back.nextAttemptAt?.getTime()).toBe(due);
  expect(back.attempts).toHaveLength(1);
  expect(back.attempts[0]!.at).toBeInstanceOf(Date);
  expect(back.event.time).toBeInstanceOf(Date);
  expect(b.core.webhooks.deliverer.backlog).toBe(1);
  await closeAll(b);
});

it("waiting deliveries beyond the log's bound are kept too, by a reopen and by a snapshot", async () => {
  const dir = tmp();
  const a = await open(dir, 1);
  a.core.webhooks.create({ url: "http://127.0.0.1:1/hook", events: ["job.enqueued"] });
  for (let i = 0; i < 5; i++) a.core.store.enqueue({ type: "t.x", args: [i], queue: "q" } as never);
  await a.core.durable();
  // The log shows at most twice its bound; the lane still holds all five.
  expect(a.core.webhooks.deliverer.list().length).toBeLessThan(5);
  expect(a.core.webhooks.deliverer.backlog).toBe(5);
  await closeAll(a);

  const b = await open(dir, 1);
  expect(b.core.webhooks.deliverer.backlog).toBe(5);
  // A snapshot (what a compaction writes) carries them as well.
  const { snapshot } = await import("../../src/server/store/journal/snapshot.js");
  const { scan } = await import("../../src/server/store/journal/records.js");
  let dlv = 0;
  for (const buf of snapshot(b.core, 99)) scan(buf, (r) => void (r.k === "dlv" && dlv++));
  expect(dlv).toBe(5);
  await closeAll(b);
});
