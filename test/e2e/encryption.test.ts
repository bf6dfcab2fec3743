/**
 * Encrypted payloads end to end, over each transport against a real server:
 * a Client with codecs enqueues (single and batch), a Worker with codecs runs
 * the handler on plain args and sends an encoded result; the server, read
 * directly over HTTP, only ever holds ciphertext and codec meta, through
 * retries and completion. Key rotation, a worker missing a key, and unique
 * jobs over encrypted args.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AesGcmCodec, chain, GzipCodec, step, type Job, type JsonValue } from "../../src/index.js";
import { client as makeClient, eventually, TRANSPORTS, uniqueQueue, useServer, worker as makeWorker } from "../helpers.js";

const ctx = useServer({ visibilityTimeoutMs: 5000 });

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const before = () => new AesGcmCodec({ keys: { "k-old": oldKey }, currentKeyId: "k-old" });
const after = () => new AesGcmCodec({ keys: { "k-old": oldKey, "k-new": newKey }, currentKeyId: "k-new" });

const SECRET = "4111111111111111";
const EMAIL = "ada@example.com";

/** The job as the server stores it, read past every SDK: the raw JSON text and its parse. */
async function stored(id: string): Promise<{ text: string; job: { args: JsonValue[]; meta: Record<string, JsonValue>; result?: JsonValue; state: string } }> {
  const res = await fetch(new URL(`/ojs/v1/jobs/${id}`, ctx.url));
  const text = await res.text();
  return { text, job: (JSON.parse(text) as { job: never }).job };
}

describe.each(TRANSPORTS)("encrypted payloads over %s", (transport) => {
  it("the handler sees plain args, the server only ciphertext: enqueue, batch, retry and result", async () => {
    const queue = uniqueQueue("enc");
    const client = makeClient(ctx.url, transport, { codecs: [new GzipCodec(), after()] });
    const worker = makeWorker(ctx.url, transport, { queues: [queue], codecs: [new GzipCodec(), after()], pollIntervalMs: 20, longPollMs: 0 });
    const seen: JsonValue[][] = [];
    let failedOnce = false;
    worker.register("pay", async (c) => {
      seen.push(c.args);
      expect(c.job.args).toEqual(c.args);
      // The first attempt of the first job fails: its retry must be decoded the same.
      if (c.args[0] === SECRET && !failedOnce) {
        failedOnce = true;
        throw new Error("card declined, try again");
      }
      return { charged: c.args[0]!, to: c.args[1]! };
    });
    try {
      const big = "x".repeat(4000);
      const one = await client.enqueue("pay", [SECRET, EMAIL], { queue, retry: { maxAttempts: 3, initialInterval: "PT0.05S" } });
      expect(one.args).toEqual([SECRET, EMAIL]);
      const batch = await client.enqueueBatch([
        { type: "pay", args: ["5555444433332222", EMAIL], options: { queue } },
        { type: "pay", args: [big, EMAIL], options: { queue } },
      ]);
      expect(batch.map((j) => j.args[0])).toEqual(["5555444433332222", big]);
      const ids = [one.id, ...batch.map((j) => j.id)];

      // Before any worker runs: ciphertext and codec meta only.
      for (const id of ids) {
        const { text, job } = await stored(id);
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain("5555444433332222");
        expect(text).not.toContain(EMAIL);
        expect(job.args).toHaveLength(1);
        expect(job.args[0]).toMatchObject({ ojs_encoded: true });
        expect(job.meta["ojs.codec.key_id"]).toBe("k-new");
      }
      expect((await stored(batch[1]!.id)).job.meta["ojs.codec.encodings"]).toEqual(["gzip/plain", "binary/encrypted"]);
      expect((await stored(one.id)).job.meta["ojs.codec.encodings"]).toEqual(["binary/encrypted"]);
      const firstCipher = (await stored(one.id)).job.args;

      void worker.start();
      const done: Job[] = [];
      for (const id of ids) done.push(await client.waitForJob(id, { timeoutMs: 15_000 }));
      expect(done.map((j) => j.state)).toEqual(["completed", "completed", "completed"]);
      expect(failedOnce).toBe(true);
      expect(seen.filter((a) => a[0] === SECRET)).toHaveLength(2);
      expect(seen).toContainEqual(["5555444433332222", EMAIL]);
      expect(seen).toContainEqual([big, EMAIL]);

      // After a retry and completion: the same ciphertext and meta, and an encoded result.
      const { text, job } = await stored(one.id);
      expect(job.args).toEqual(firstCipher);
      expect(job.meta["ojs.codec.key_id"]).toBe("k-new");
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(EMAIL);
      expect(job.result).toMatchObject({ ojs_encoded: true });
      const plain = await client.decodeJob(done[0]!);
      expect(plain.args).toEqual([SECRET, EMAIL]);
      expect(plain.result).toEqual({ charged: SECRET, to: EMAIL });
    } finally {
      await worker.stop();
      await client.close();
    }
  }, 40_000);

  it("rotation: a worker with both keys runs jobs encrypted before and after; one without the new key fails them retryably with codec_key_unknown", async () => {
    const queue = uniqueQueue("enc-rot");
    const oldClient = makeClient(ctx.url, transport, { codecs: [before()] });
    const newClient = makeClient(ctx.url, transport, { codecs: [after()] });
    const stale = makeWorker(ctx.url, transport, { queues: [queue], codecs: [before()], pollIntervalMs: 20, longPollMs: 0 });
    let staleCalls = 0;
    stale.register("rot", () => {
      staleCalls++;
    });
    const current = makeWorker(ctx.url, transport, { queues: [queue], codecs: [after()], pollIntervalMs: 20, longPollMs: 0 });
    const ran: JsonValue[] = [];
    current.register("rot", (c) => {
      ran.push(c.args[0]!);
    });
    try {
      const a = await oldClient.enqueue("rot", ["old"], { queue, retry: { maxAttempts: 3, initialInterval: "PT0.05S" } });
      // b's retry comes 1-3 s after its failure: by then the stale worker (stopped the moment it
      // fails b) has closed its stream or poll, so the retry cannot be handed to it as it goes.
      const b = await newClient.enqueue("rot", ["new"], { queue, retry: { maxAttempts: 3, initialInterval: "PT2S" } });
      expect((await stored(a.id)).job.meta["ojs.codec.key_id"]).toBe("k-old");
      expect((await stored(b.id)).job.meta["ojs.codec.key_id"]).toBe("k-new");

      // The stale worker alone: the old job runs, the new one fails with a retryable codec error.
      // It stops the moment it has failed the new job. (With a retry 25-75 ms after the failure and
      // the stop left to the test's polling, a loaded machine saw b retried by the stopping worker's
      // stream and left leased to it, or all three attempts used up and b discarded.)
      const staleStopped = new Promise<void>((resolve) =>
        stale.on("job.failed", (e) => {
          if (e.job.id === b.id) void stale.stop().then(resolve);
        }),
      );
      void stale.start();
      await eventually(async () => (await newClient.getJob(b.id)).errors.length > 0, 10_000);
      await staleStopped;
      const failed = await newClient.getJob(b.id);
      expect(failed.errors[0]).toMatchObject({ code: "codec_key_unknown" });
      expect(failed.errors[0]!.message).toContain("k-new");
      expect(JSON.stringify(failed.errors)).not.toContain(newKey.toString("hex"));
      expect(["retryable", "available", "scheduled"]).toContain(failed.state);
      expect(staleCalls).toBe(1);

      // A worker given the new key takes over.
      void current.start();
      expect((await newClient.waitForJob(b.id, { timeoutMs: 15_000 })).state).toBe("completed");
      expect((await oldClient.getJob(a.id)).state).toBe("completed");
      expect(ran).toEqual(["new"]);
    } finally {
      await stale.stop();
      await current.stop();
      await oldClient.close();
      await newClient.close();
    }
  }, 40_000);

  it("workflow steps: args encrypted on the server, decoded for each step, parent results decoded", async () => {
    const queue = uniqueQueue("enc-wf");
    const client = makeClient(ctx.url, transport, { codecs: [after()] });
    const worker = makeWorker(ctx.url, transport, { queues: [queue], codecs: [after()], pollIntervalMs: 20, longPollMs: 0 });
    const seen: Array<{ args: JsonValue[]; parents: JsonValue }> = [];
    worker.register("wf.step", (c) => {
      seen.push({ args: c.args, parents: c.parentResults });
      return { from: c.args[0]! };
    });
    try {
      const wf = await client.workflow(chain("enc-flow", [step("wf.step", [SECRET], { queue }), step("wf.step", [EMAIL], { queue })]));
      void worker.start();
      await eventually(() => seen.length === 2, 15_000);
      expect(seen[0]!.args).toEqual([SECRET]);
      expect(seen[1]!.args).toEqual([EMAIL]);
      expect(Object.values(seen[1]!.parents as object)).toEqual([{ from: SECRET }]);
      const status = await client.getWorkflow(wf.id);
      expect(status.steps).toHaveLength(2);
      for (const s of status.steps) {
        const { text, job } = await stored(s.jobId!);
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(EMAIL);
        expect(job.meta["ojs.codec.key_id"]).toBe("k-new");
      }
    } finally {
      await worker.stop();
      await client.close();
    }
  }, 40_000);

  it("a cron template is stored encrypted", async () => {
    const client = makeClient(ctx.url, transport, { codecs: [after()] });
    const name = `enc-cron-${transport}`;
    try {
      await client.registerCronJob({ name, cron: "0 3 * * *", type: "nightly", args: [SECRET] });
      const text = await (await fetch(new URL("/ojs/v1/cron", ctx.url))).text();
      expect(text).toContain(name);
      expect(text).not.toContain(SECRET);
      expect(text).toContain("ojs_encoded");
    } finally {
      await client.unregisterCronJob(name).catch(() => undefined);
      await client.close();
    }
  });

  it("unique jobs over args still find duplicates when args are encrypted (ENC §15.3)", async () => {
    const queue = uniqueQueue("enc-uniq");
    const client = makeClient(ctx.url, transport, { codecs: [after()] });
    try {
      const unique = { keys: ["type", "args"], onConflict: "ignore" as const, period: 60_000 };
      const first = await client.enqueue("uniq", [{ user: 7, note: "a" }], { queue, unique });
      const again = await client.enqueue("uniq", [{ user: 7, note: "a" }], { queue, unique });
      const other = await client.enqueue("uniq", [{ user: 8, note: "a" }], { queue, unique });
      expect(again.id).toBe(first.id);
      expect(other.id).not.toBe(first.id);
    } finally {
      await client.close();
    }
  });
});
