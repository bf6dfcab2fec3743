/**
 * Payload codecs (ojs-encryption.md): round trips and key rotation as
 * properties, tampered ciphertext refused, the payload format, the chain's
 * meta, and no key material in anything a codec shows or throws.
 */
import { createSecretKey, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AesGcmCodec, CodecChain, type AesGcmCodecOptions, CodecError, GzipCodec, isEncodedPayload, type PayloadCodec } from "../../src/index.js";
import type { Job, NormalizedJobRequest } from "../../src/model/job.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import { jsonValues } from "../support/json-arbitrary.js";

const key = fc.string({ maxLength: 8 });
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.string({ unit: "grapheme" }),
);
const jsonValue = jsonValues(scalar, key);
const args = fc.array(jsonValue, { maxLength: 6 });

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const oldCodec = new AesGcmCodec({ keys: { "key-1": k1 }, currentKeyId: "key-1" });
const rotated = new AesGcmCodec({ keys: { "key-1": k1, "key-2": k2 }, currentKeyId: "key-2" });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as CodecError).code;
  }
}

describe("AES-256-GCM codec", () => {
  it("round-trips any JSON value, alone and after gzip (property)", async () => {
    const chains = [new CodecChain([oldCodec]), new CodecChain([new GzipCodec({ minBytes: 0 }), oldCodec])];
    await fc.assert(
      fc.asyncProperty(jsonValue, fc.constantFrom(0, 1), async (v, i) => {
        const chain = chains[i]!;
        const enc = (await chain.encodeValue(v))!;
        expect(enc.meta["ojs.codec.key_id"]).toBe("key-1");
        expect(await chain.decodeValue(enc.payload, enc.meta)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 200 },
    );
  });

  it("rotation: encrypts with the current key; decrypts with any key it knows by id; an unknown id is codec_key_unknown (property)", async () => {
    const before = new CodecChain([oldCodec]);
    const after = new CodecChain([rotated]);
    await fc.assert(
      fc.asyncProperty(args, async (a) => {
        const old = (await before.encodeValue(a))!;
        expect(await after.decodeValue(old.payload, old.meta)).toEqual(JSON.parse(JSON.stringify(a)));
        const fresh = (await after.encodeValue(a))!;
        expect(fresh.meta["ojs.codec.key_id"]).toBe("key-2");
        // A worker that was not given the new key yet: a retryable error naming the id, not a crash.
        await expect(before.decodeValue(fresh.payload, fresh.meta)).rejects.toMatchObject({ code: "codec_key_unknown", retryable: true });
      }),
      { numRuns: 100 },
    );
  });

  it("refuses ciphertext with any byte changed (property)", async () => {
    const chain = new CodecChain([oldCodec]);
    const enc = (await chain.encodeValue({ card: "4111111111111111", amount: 9999 }))!;
    const bytes = Buffer.from(enc.payload.data, "base64");
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const bad = Buffer.from(bytes);
        bad[at]! ^= flip;
        const code = await codeOf(chain.decodeValue({ ...enc.payload, data: bad.toString("base64") }, enc.meta));
        // The version byte is checked before decryption; every other byte is covered by the GCM tag.
        expect(code).toBe(at === 0 ? "codec_invalid_payload" : "codec_decrypt_failed");
      }),
      { numRuns: 150 },
    );
    // Truncated, and the right id with the wrong key behind it.
    expect(await codeOf(chain.decodeValue({ ...enc.payload, data: bytes.subarray(0, 20).toString("base64") }, enc.meta))).toBe("codec_invalid_payload");
    const impostor = new CodecChain([new AesGcmCodec({ keys: { "key-1": k2 }, currentKeyId: "key-1" })]);
    expect(await codeOf(impostor.decodeValue(enc.payload, enc.meta))).toBe("codec_decrypt_failed");
  });

  it("writes the spec's format: version 0x01, a fresh 12-byte nonce, ciphertext, 16-byte tag", () => {
    const plain = Buffer.from('["x"]');
    const a = Buffer.from(oldCodec.encode(plain).data);
    const b = Buffer.from(oldCodec.encode(plain).data);
    expect(a[0]).toBe(0x01);
    expect(a.length).toBe(1 + 12 + plain.length + 16);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it("refuses unusable keys with codec_key_invalid, and takes secret KeyObjects and Maps", () => {
    const short = randomBytes(16);
    const bad: AesGcmCodecOptions[] = [
      { keys: { a: short }, currentKeyId: "a" },
      { keys: { a: k1 }, currentKeyId: "b" },
      { keys: { "": k1 }, currentKeyId: "" },
    ];
    for (const opts of bad) {
      let err: unknown;
      try {
        new AesGcmCodec(opts);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "codec_key_invalid" });
      expect(String((err as Error).message)).not.toContain(short.toString("hex"));
    }
    const c = new AesGcmCodec({ keys: new Map([["m", createSecretKey(k1)]]), currentKeyId: "m" });
    expect(c.keyIds).toEqual(["m"]);
  });

  it("never shows key material: toString, JSON, inspect, console formatting, errors", async () => {
    const secretHex = k1.toString("hex");
    const secretB64 = k1.toString("base64");
    const shown = [String(rotated), JSON.stringify(rotated), inspect(rotated, { showHidden: true, depth: 10 }), inspect({ codecs: [rotated] }, { depth: 10 })];
    const errors: unknown[] = [];
    const enc = (await new CodecChain([rotated]).encodeValue([1]))!;
    for (const p of [
      new CodecChain([oldCodec]).decodeValue(enc.payload, enc.meta),
      new CodecChain([rotated]).decodeValue({ ...enc.payload, data: Buffer.alloc(40, 7).toString("base64") }, enc.meta),
    ])
      await p.catch((e: unknown) => errors.push(e));
    expect(errors).toHaveLength(2);
    for (const e of errors) shown.push(inspect(e, { showHidden: true, depth: 10 }), JSON.stringify(e), String((e as Error).stack));
    for (const text of shown) {
      expect(text).not.toContain(secretHex);
      expect(text).not.toContain(secretB64);
      expect(text).not.toContain(k1.subarray(0, 8).toString("hex"));
    }
    expect(String(rotated)).toContain("key-2");
  });
});

describe("gzip codec", () => {
  it("leaves small or incompressible payloads alone, and then records nothing", async () => {
    expect(await new CodecChain([new GzipCodec()]).encodeValue(["short"])).toBeUndefined();
    // Even with no size floor, gzip of a few bytes is larger than they are.
    expect(await new CodecChain([new GzipCodec({ minBytes: 0 })]).encodeValue(["x"])).toBeUndefined();
    const chain = new CodecChain([new GzipCodec(), oldCodec]);
    const small = (await chain.encodeValue(["short"]))!;
    expect(small.meta["ojs.codec.encodings"]).toEqual(["binary/encrypted"]);
    const big = (await chain.encodeValue(["a".repeat(5000)]))!;
    expect(big.meta["ojs.codec.encodings"]).toEqual(["gzip/plain", "binary/encrypted"]);
    expect(big.payload.encoding).toBe("binary/encrypted+gzip/plain");
    expect(Buffer.from(big.payload.data, "base64").length).toBeLessThan(200);
  });

  it("bounds what it inflates", async () => {
    const enc = (await new CodecChain([new GzipCodec()]).encodeValue(["a".repeat(100_000)]))!;
    const tight = new CodecChain([new GzipCodec({ maxDecodedBytes: 10_000 })]);
    expect(await codeOf(tight.decodeValue(enc.payload, enc.meta))).toBe("codec_invalid_payload");
    expect(await codeOf(tight.decodeValue({ ...enc.payload, data: "bm90IGd6aXA=" }, enc.meta))).toBe("codec_invalid_payload");
  });
});

describe("codec chain", () => {
  const xor: PayloadCodec = {
    encoding: "example/xor",
    encode: (data) => ({ data: data.map((b) => b ^ 0x5a), meta: { "ojs.codec.xor": "0x5a" } }),
    decode: (data, meta) => {
      expect(meta["ojs.codec.xor"]).toBe("0x5a");
      return data.map((b) => b ^ 0x5a);
    },
  };

  it("custom codecs: applied in order, undone in reverse, chosen by the recorded name", async () => {
    const chain = new CodecChain([xor, oldCodec]);
    const enc = (await chain.encodeValue({ a: [1, "b"] }))!;
    expect(enc.meta).toEqual({ "ojs.codec.xor": "0x5a", "ojs.codec.key_id": "key-1", "ojs.codec.encodings": ["example/xor", "binary/encrypted"] });
    // Another process may list the codecs in another order: names decide.
    expect(await new CodecChain([oldCodec, xor]).decodeValue(enc.payload, enc.meta)).toEqual({ a: [1, "b"] });
    expect(await codeOf(new CodecChain([oldCodec]).decodeValue(enc.payload, enc.meta))).toBe("codec_unknown_encoding");
    expect(await codeOf(chain.decodeValue(enc.payload, {}))).toBe("codec_invalid_payload");
  });

  it("refuses misconfiguration: duplicate names, codecs without methods, meta outside ojs.codec.*", async () => {
    expect(() => new CodecChain([oldCodec, rotated])).toThrow(/two codecs named/);
    expect(() => new CodecChain([{ encoding: "x" } as unknown as PayloadCodec])).toThrow(CodecError);
    const rogue: PayloadCodec = { encoding: "rogue", encode: (data) => ({ data, meta: { user_field: 1 } }), decode: (d) => d };
    expect(await codeOf(new CodecChain([rogue]).encodeValue([1]))).toBe("codec_invalid_config");
  });

  const request = (over: Partial<NormalizedJobRequest> = {}): NormalizedJobRequest => ({
    type: "pay",
    args: [{ card: "4111", amount: 5 }],
    meta: { trace: "t1" },
    ...over,
  });

  it("encodes a request: one marked element, codec meta beside the user's; a request already encoded passes as it is", async () => {
    const chain = new CodecChain([oldCodec]);
    const out = await chain.encodeRequest(request());
    expect(out.args).toHaveLength(1);
    expect(isEncodedPayload(out.args[0])).toBe(true);
    expect(JSON.stringify(out.args)).not.toContain("4111");
    expect(out.meta).toMatchObject({ trace: "t1", "ojs.codec.encodings": ["binary/encrypted"], "ojs.codec.key_id": "key-1" });
    expect(await chain.encodeRequest(out)).toBe(out);
    await expect(chain.encodeRequest(request({ meta: { "ojs.codec.key_id": "forged" } }))).rejects.toMatchObject({ code: "codec_invalid_config" });
  });

  it("a unique policy over args keys on a keyed fingerprint of the plain args (ENC §15.3)", async () => {
    const chain = new CodecChain([oldCodec]);
    const a = await chain.encodeRequest(request({ unique: { keys: ["type", "args"], argsKeys: ["card"] } }));
    const b = await chain.encodeRequest(request({ args: [{ card: "4111", amount: 99 }], unique: { keys: ["type", "args"], argsKeys: ["card"] } }));
    const c = await chain.encodeRequest(request({ args: [{ card: "5555", amount: 5 }], unique: { keys: ["type", "args"], argsKeys: ["card"] } }));
    expect(a.unique).toEqual({ keys: ["type", "meta"], metaKeys: ["ojs.codec.unique_args"] });
    expect(a.meta!["ojs.codec.unique_args"]).toBe(b.meta!["ojs.codec.unique_args"]);
    expect(a.meta!["ojs.codec.unique_args"]).not.toBe(c.meta!["ojs.codec.unique_args"]);
    expect(String(a.meta!["ojs.codec.unique_args"])).not.toContain("4111");
  });

  it("decodes a job's args, result and parent results; a plain job is returned as it is", async () => {
    const chain = new CodecChain([new GzipCodec({ minBytes: 0 }), oldCodec]);
    const req = await chain.encodeRequest(request());
    const result = await chain.encodeResult({ ok: true });
    const job = {
      id: "j",
      type: "pay",
      queue: "default",
      state: "completed",
      args: req.args,
      meta: req.meta!,
      result,
      parentResults: { "0": result!, "1": 7 },
    } as unknown as Job;
    const plain = await chain.decodeJob(job);
    expect(plain.args).toEqual([{ card: "4111", amount: 5 }]);
    expect(plain.result).toEqual({ ok: true });
    expect(plain.parentResults).toEqual({ "0": { ok: true }, "1": 7 });
    const untouched = { ...job, args: [1], result: 2, parentResults: {} } as unknown as Job;
    expect(await chain.decodeJob(untouched)).toBe(untouched);
    expect(await chain.decodeResult(undefined)).toBeUndefined();
    expect(isEncodedPayload((result as JsonObject).meta)).toBe(false);
  });
});
