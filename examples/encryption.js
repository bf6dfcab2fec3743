// Encrypted payloads (the encryption extension): the client compresses and encrypts args before
// they leave the process, the worker decrypts them before the handler runs and encrypts its result.
// The server stores ciphertext only; keys have ids, so a new key can be rolled out while jobs
// encrypted with the old one are still waiting.
import { randomBytes } from "node:crypto";
import { AesGcmCodec, Client, GzipCodec, Worker } from "ojs-connect";

// In production the keys come from a secret store or the environment, e.g.
// Buffer.from(process.env.OJS_KEY_2026_12, "base64"); each is 32 bytes.
const keys = { "2026-11": randomBytes(32), "2026-12": randomBytes(32) };
const codecs = [new GzipCodec(), new AesGcmCodec({ keys, currentKeyId: "2026-12" })];

const queue = `example-encryption-${Date.now()}`;
const client = new Client({ codecs }); // OJS_URL / OJS_TRANSPORT, or defaults
const worker = new Worker({ queues: [queue], codecs, handleSignals: false });
worker.register("payment.charge", async (ctx) => {
  const [{ card, amount }] = ctx.args; // plain here, and only here
  return { charged: amount, last4: card.slice(-4) };
});
void worker.start();

const job = await client.enqueue("payment.charge", [{ card: "4111111111111111", amount: 9999 }], { queue });

// What the server holds: an opaque payload and the codec meta, never the card number.
const url = process.env.OJS_URL ?? "http://localhost:8080";
const stored = await (await fetch(`${url}/ojs/v1/jobs/${job.id}`)).json();
if (JSON.stringify(stored).includes("4111111111111111")) throw new Error("the server saw the card number");
console.log("server holds args:", JSON.stringify(stored.job.args).slice(0, 60) + "...");
console.log("codec meta:", stored.job.meta["ojs.codec.encodings"], stored.job.meta["ojs.codec.key_id"]);

const done = await client.decodeJob(await client.waitForJob(job.id, { timeoutMs: 10_000 }));
console.log(`${done.state}:`, done.result);
await worker.stop();
await client.close();
