/**
 * The Codec Server (ojs-encryption.md §9) over real sockets: a payload the
 * Client encrypted comes back plain from /codec/decode, /codec/encode gives
 * what a Worker decodes; CORS answers only the configured origins; bodies are
 * bounded and checked; credentials are required; no key material shows in any answer.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AesGcmCodec, CodecChain, createCodecServer, GzipCodec, type CodecServer, type JsonObject } from "../../src/index.js";

const KEY = randomBytes(32);
const OLD = randomBytes(32);
const TOKEN = "codec-tok-7f3a";
const ORIGIN = "http://127.0.0.1:8080";
const codecs = () => [new GzipCodec({ minBytes: 16 }), new AesGcmCodec({ keys: { "2026-12": KEY, "2026-11": OLD }, currentKeyId: "2026-12" })];

let codec: CodecServer;
let url: string;

beforeAll(async () => {
  codec = createCodecServer({ codecs: codecs(), auth: { tokens: [TOKEN] }, cors: { origins: [ORIGIN] }, maxBodyBytes: 64 * 1024, maxPayloads: 4 });
  url = await codec.listen();
});
afterAll(() => codec.close());

async function call(op: string, body: unknown, headers: Record<string, string> = {}, method = "POST") {
  const res = await fetch(`${url}/codec/${op}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    ...(method === "POST" ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: (text ? JSON.parse(text) : undefined) as {
      payloads?: Array<{ data?: string; metadata?: JsonObject; error?: { code: string; message: string } }>;
      error?: { code: string };
    },
  };
}
const b64json = (v: unknown) => Buffer.from(JSON.stringify(v), "utf8").toString("base64");
const fromB64 = (s: string) => JSON.parse(Buffer.from(s, "base64").toString("utf8")) as unknown;

describe("codec server", () => {
  it("decodes args the SDK encrypted (job meta as metadata), and an encoded result with its own meta", async () => {
    const chain = new CodecChain(codecs());
    const args = [{ card: "4111 1111 1111 1111", amount: 9999, note: "x".repeat(100) }];
    const enc = (await chain.encodeValue(args))!;
    const result = (await chain.encodeResult({ receipt: "r-1" })) as JsonObject;
    const { status, json, text } = await call("decode", {
      payloads: [
        { data: enc.payload.data, metadata: { ...enc.meta, tenant: "acme" } },
        { data: result.data, metadata: result.meta },
      ],
    });
    expect(status).toBe(200);
    expect(json.payloads![0]!.metadata).toEqual({ encoding: "json/plain" });
    expect(fromB64(json.payloads![0]!.data!)).toEqual(args);
    expect(fromB64(json.payloads![1]!.data!)).toEqual({ receipt: "r-1" });
    expect(text).not.toContain(KEY.toString("base64"));
  });

  it("encodes what a chain with the same keys decodes, and reports a per-payload failure by its code", async () => {
    const { status, json } = await call("encode", { payloads: [{ data: b64json(["hello", { n: 1 }]), metadata: { encoding: "json/plain" } }] });
    expect(status).toBe(200);
    const p = json.payloads![0]!;
    expect(p.metadata).toMatchObject({ encoding: "binary/encrypted", "ojs.codec.encodings": ["binary/encrypted"], "ojs.codec.key_id": "2026-12" });
    const plain = await new CodecChain(codecs()).decodeValue({ ojs_encoded: true, encoding: "", data: p.data! }, p.metadata!);
    expect(plain).toEqual(["hello", { n: 1 }]);

    // A payload under a key this server lacks, and one whose tag no longer verifies: each fails alone.
    const other = new CodecChain([new AesGcmCodec({ keys: { "2027-01": randomBytes(32) }, currentKeyId: "2027-01" })]);
    const foreign = (await other.encodeValue([1]))!;
    const bytes = Buffer.from(p.data!, "base64");
    bytes[bytes.length - 1]! ^= 1;
    const dec = await call("decode", {
      payloads: [
        { data: foreign.payload.data, metadata: foreign.meta },
        { data: bytes.toString("base64"), metadata: p.metadata },
        { data: p.data, metadata: p.metadata },
      ],
    });
    expect(dec.status).toBe(200);
    expect(dec.json.payloads!.map((x) => x.error?.code)).toEqual(["codec_key_unknown", "codec_decrypt_failed", undefined]);
    expect(dec.text).not.toContain(KEY.toString("base64"));
    expect(dec.text).not.toContain(KEY.toString("hex"));
  });

  it("accepts the spec example's metadata shape (encoding, encryption_key_id)", async () => {
    const enc = (await new CodecChain(codecs()).encodeValue({ a: 1 }))!;
    const { json } = await call("decode", { payloads: [{ data: enc.payload.data, metadata: { encoding: "binary/encrypted", encryption_key_id: "2026-12" } }] });
    expect(fromB64(json.payloads![0]!.data!)).toEqual({ a: 1 });
  });

  it("answers CORS only for the configured origins", async () => {
    const pre = await fetch(`${url}/codec/decode`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");

    const evilPre = await fetch(`${url}/codec/decode`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(evilPre.status).toBe(403);
    expect(evilPre.headers.get("access-control-allow-origin")).toBeNull();
    const evil = await call("decode", { payloads: [] }, { origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(evil.json.error?.code).toBe("origin_not_allowed");

    const ok = await call("decode", { payloads: [] }, { origin: ORIGIN });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it("refuses bad requests with JSON errors: body, payloads, size, type, method, path, credentials", async () => {
    const cases: Array<[string, Awaited<ReturnType<typeof call>>, number, string]> = [
      ["not JSON", await call("decode", "{nope"), 400, "invalid_request"],
      ["no payloads", await call("decode", { items: [] }), 400, "invalid_request"],
      ["data not base64", await call("decode", { payloads: [{ data: "%%%%" }] }), 400, "invalid_request"],
      ["metadata not object", await call("decode", { payloads: [{ data: "", metadata: [1] }] }), 400, "invalid_request"],
      ["too many payloads", await call("decode", { payloads: Array.from({ length: 5 }, () => ({ data: "" })) }), 400, "invalid_request"],
      ["too large", await call("decode", { payloads: [{ data: "A".repeat(70_000) }] }), 413, "payload_too_large"],
      ["text/plain", await call("decode", { payloads: [] }, { "content-type": "text/plain" }), 415, "unsupported_media_type"],
      ["GET", await call("decode", undefined, {}, "GET"), 405, "method_not_allowed"],
      ["other path", await call("nope", { payloads: [] }), 404, "not_found"],
      ["wrong token", await call("decode", { payloads: [] }, { authorization: "Bearer wrong" }), 401, "unauthenticated"],
      ["no token", await call("decode", { payloads: [] }, { authorization: "" }), 401, "unauthenticated"],
    ];
    for (const [name, r, status, code] of cases) {
      expect({ name, status: r.status, code: r.json.error?.code }).toEqual({ name, status, code });
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    }
    // The server is still fine after all of that.
    expect((await call("decode", { payloads: [] })).status).toBe(200);
  });

  it("mounts as a handler in the user's own server, under a prefix, with a custom auth check", async () => {
    const c = createCodecServer({ codecs: codecs(), auth: (req) => req.headers["x-team"] === "ops" });
    const host = createServer(c.handler);
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
    try {
      const base = `http://127.0.0.1:${(host.address() as { port: number }).port}/tools`;
      const body = JSON.stringify({ payloads: [{ data: b64json({ a: 1 }) }] });
      const refused = await fetch(`${base}/codec/encode`, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(refused.status).toBe(401);
      const ok = await fetch(`${base}/codec/encode`, { method: "POST", headers: { "content-type": "application/json", "x-team": "ops" }, body });
      expect(ok.status).toBe(200);
    } finally {
      await new Promise((r) => host.close(r));
    }
  });

  it("checks credentials before reading a body, and survives an auth check that throws", async () => {
    const big = await call("decode", { payloads: [{ data: "A".repeat(70_000) }] }, { authorization: "Bearer wrong" });
    expect(big.status).toBe(401);
    const c = createCodecServer({
      codecs: codecs(),
      auth: () => {
        throw new Error(`secret ${KEY.toString("hex")}`);
      },
    });
    const u = await c.listen();
    try {
      const r = await fetch(`${u}/codec/decode`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(r.status).toBe(500);
      const text = await r.text();
      expect(JSON.parse(text)).toEqual({ error: { code: "internal", message: "the codec server failed on this request" } });
      expect(text).not.toContain(KEY.toString("hex"));
      expect((await fetch(`${u}/codec/decode`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(500);
    } finally {
      await c.close();
    }
  });

  it("refuses unsafe options: no auth, an origin with a path", () => {
    expect(() => createCodecServer({ codecs: [], auth: undefined as never })).toThrow(/auth must be/);
    expect(() => createCodecServer({ codecs: [], auth: { tokens: [] } })).toThrow(/auth must be/);
    expect(() => createCodecServer({ codecs: [], auth: "none", cors: { origins: ["https://a.example/ui"] } })).toThrow(/not an origin/);
  });
});
