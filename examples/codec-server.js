// A Codec Server (encryption extension, ojs-encryption.md §9): run it next to your keys, and the
// dashboard (or any tool without keys) can show encrypted job args decoded. The job server never
// sees the keys or the plaintext: the browser asks this server directly.
//
//   node examples/codec-server.js                                    # this script, then
//   ojs-connect serve --ui-codec-server http://127.0.0.1:8090        # the job server may call it
//   open http://127.0.0.1:8080/ui/ → settings → codec server URL and token
import { randomBytes } from "node:crypto";
import { AesGcmCodec, Client, createCodecServer } from "ojs-connect";

const keys = { "2026-12": randomBytes(32) }; // in production: from your secret store
const codecs = [new AesGcmCodec({ keys, currentKeyId: "2026-12" })];
const url = process.env.OJS_URL ?? "http://localhost:8080";
const token = process.env.CODEC_TOKEN ?? randomBytes(16).toString("hex");

const codec = createCodecServer({
  codecs,
  auth: { tokens: [token] }, // the spec requires authentication; the dashboard sends it as a bearer token
  cors: { origins: [new URL(url).origin] }, // the dashboard's origin: the job server's own
});
const codecUrl = await codec.listen({ port: Number(process.env.CODEC_PORT ?? 0), host: "127.0.0.1" });
console.log(`codec server on ${codecUrl}`);

// A job with encrypted args, as a producer with the keys enqueues it.
const client = new Client({ codecs });
const job = await client.enqueue("payment.charge", [{ card: "4111111111111111", amount: 9999 }], { queue: `example-codec-${Date.now()}` });

// What a tool without keys does: read the stored job, ask the codec server to decode its args.
const stored = (await (await fetch(`${url}/ojs/v1/jobs/${job.id}`)).json()).job;
const res = await fetch(`${codecUrl}/codec/decode`, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  body: JSON.stringify({ payloads: [{ data: stored.args[0].data, metadata: stored.meta }] }),
});
const [decoded] = (await res.json()).payloads;
if (decoded.error) throw new Error(`decode failed: ${decoded.error.code}`);
console.log("server holds:", JSON.stringify(stored.args).slice(0, 60) + "...");
console.log("codec server decoded:", Buffer.from(decoded.data, "base64").toString("utf8"));

await client.cancelJob(job.id).catch(() => {}); // nothing will run it here
await client.close();
await codec.close();
