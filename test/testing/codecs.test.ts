/** The testing toolkit with a user's payload codecs: enqueued jobs hold ciphertext, handlers see plain args. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AesGcmCodec, type PayloadCodec, Worker } from "../../src/index.js";
import { createFakeClient } from "../../src/testing/index.js";

const aes = () => new AesGcmCodec({ keys: { k1: randomBytes(32) }, currentKeyId: "k1" });

describe("fake client with codecs", () => {
  it("drain: the recorded job is encrypted, the handler gets plain args, the result is stored encoded", async () => {
    const codec = aes();
    await using ojs = createFakeClient({
      codecs: [codec],
      handlers: { "card.charge": (ctx) => ({ last4: String((ctx.args[0] as { card: string }).card).slice(-4) }) },
    });
    const job = await ojs.enqueue("card.charge", [{ card: "4111111111111111" }]);
    expect(job.args).toEqual([{ card: "4111111111111111" }]);
    const [stored] = ojs.allEnqueued();
    expect(JSON.stringify(stored)).not.toContain("4111111111111111");
    expect(stored!.meta).toMatchObject({ "ojs.codec.encodings": ["binary/encrypted"], "ojs.codec.key_id": "k1" });
    await ojs.drain();
    const [run] = ojs.allPerformed();
    expect(run!.job.args).toEqual([{ card: "4111111111111111" }]);
    expect(run!.result).toEqual({ last4: "1111" });
    const done = await ojs.getJob(job.id);
    expect(done.result).toMatchObject({ ojs_encoded: true });
    expect((await ojs.decodeJob(done)).result).toEqual({ last4: "1111" });
  });

  it("inline mode with a Worker that has no codecs of its own, and a custom codec", async () => {
    const calls: string[] = [];
    const reverse: PayloadCodec = {
      encoding: "test/reverse",
      encode: (data) => {
        calls.push("encode");
        return { data: Uint8Array.from(data).reverse() };
      },
      decode: (data) => {
        calls.push("decode");
        return Uint8Array.from(data).reverse();
      },
    };
    const worker = new Worker({ handleSignals: false, url: "http://127.0.0.1:9" });
    worker.register("math.double", (ctx) => (ctx.args[0] as number) * 2);
    await using ojs = createFakeClient({ inline: true, worker, codecs: [reverse] });
    const job = await ojs.enqueue("math.double", [21]);
    expect(job).toMatchObject({ state: "completed", result: 42, args: [21] });
    expect(ojs.allEnqueued()[0]!.args[0]).toMatchObject({ ojs_encoded: true, encoding: "test/reverse" });
    // args encoded; decoded for the handler; result encoded; the finished job (args, result) decoded for the caller.
    expect(calls).toEqual(["encode", "decode", "encode", "decode", "decode"]);
  });

  it("a job its codecs cannot decode fails with the CodecError, the handler never called", async () => {
    let called = false;
    await using producer = createFakeClient({ codecs: [aes()] });
    const job = await producer.enqueue("x", [1]);
    const [stored] = producer.allEnqueued();
    // Another fake with another key reads the same job.
    await using ojs = createFakeClient({ codecs: [aes()], handlers: { x: () => void (called = true) } });
    await ojs.enqueue("x", stored!.args, { meta: stored!.meta });
    await ojs.drain({ timeoutMs: 5_000 }).catch(() => undefined);
    const [run] = ojs.allPerformed();
    expect(called).toBe(false);
    expect(run!.error).toMatchObject({ code: "codec_decrypt_failed" });
    expect(job.id).toBeTypeOf("string");
  });
});
