/**
 * AES-256-GCM encryption codec (ojs-encryption.md §6, §10.1), on node:crypto.
 * Payload format (§6.2): [0x01 version][12-byte random nonce][ciphertext][16-byte tag].
 * Encrypts with the current key and records its id in `ojs.codec.key_id`;
 * decrypts with whichever known key that id names, so keys can be rotated
 * while jobs encrypted with the old one are still waiting.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { inspect } from "node:util";
import type { JsonValue } from "../../model/json.js";
import { CodecError } from "./errors.js";
import { META_KEY_ID, type CodecOutput, type PayloadCodec } from "./types.js";

const VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const MAX_KEY_ID = 256;

/** The encoding name the spec gives encrypted payloads (§5.3, §8). */
export const ENCODING_ENCRYPTED = "binary/encrypted";

/** Options of {@link AesGcmCodec}. */
export interface AesGcmCodecOptions {
  /**
   * Every key this codec may decrypt with, by key id: 32 bytes each (a Buffer,
   * a Uint8Array, or a secret KeyObject). The codec copies them; the caller may
   * wipe its own buffers afterwards.
   */
  keys: Readonly<Record<string, Uint8Array | KeyObject>> | ReadonlyMap<string, Uint8Array | KeyObject>;
  /** The id of the key new payloads are encrypted with; must be one of `keys`. */
  currentKeyId: string;
}

/**
 * AES-256-GCM payload codec with key ids and rotation. Its key material is
 * never shown: not by `toString()`, `JSON.stringify`, `util.inspect`, nor in
 * any error it throws.
 *
 * ```ts
 * const codec = new AesGcmCodec({
 *   keys: { "2026-12": Buffer.from(process.env.OJS_KEY_2026_12!, "base64"), "2026-11": oldKey },
 *   currentKeyId: "2026-12",
 * });
 * ```
 */
export class AesGcmCodec implements PayloadCodec {
  /** Always "binary/encrypted". */
  readonly encoding = ENCODING_ENCRYPTED;
  readonly #keys = new Map<string, KeyObject>();
  readonly #current: string;
  #macKey: Buffer | undefined;

  constructor(opts: AesGcmCodecOptions) {
    if (typeof opts !== "object" || opts === null) throw new CodecError("codec_key_invalid", "AesGcmCodec: options with keys and currentKeyId are required");
    const entries = opts.keys instanceof Map ? [...opts.keys.entries()] : Object.entries(opts.keys ?? {});
    for (const [id, key] of entries) this.#keys.set(checkKeyId(id), toKeyObject(id, key));
    if (typeof opts.currentKeyId !== "string" || !this.#keys.has(opts.currentKeyId))
      throw new CodecError(
        "codec_key_invalid",
        `AesGcmCodec: currentKeyId ${JSON.stringify(String(opts.currentKeyId))} is not one of the keys given (${this.keyIds.join(", ") || "none"})`,
      );
    this.#current = opts.currentKeyId;
  }

  /** The id new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.#current;
  }

  /** Every key id this codec can decrypt. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** Encrypts with the current key and a fresh random nonce. */
  encode(data: Uint8Array): CodecOutput {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#keys.get(this.#current)!, nonce, { authTagLength: TAG_BYTES });
    const body = Buffer.concat([cipher.update(data), cipher.final()]);
    const out = Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]);
    return { data: out, meta: { [META_KEY_ID]: this.#current } };
  }

  /** Decrypts with the key `meta["ojs.codec.key_id"]` names; refuses a payload whose tag does not verify. */
  decode(data: Uint8Array, meta: Readonly<Record<string, JsonValue>>): Uint8Array {
    const keyId = meta[META_KEY_ID];
    if (typeof keyId !== "string" || keyId === "") throw new CodecError("codec_invalid_payload", `encrypted payload without a ${META_KEY_ID} in its meta`);
    const key = this.#keys.get(keyId);
    if (!key) throw new CodecError("codec_key_unknown", `no key with id ${JSON.stringify(keyId)} (known: ${this.keyIds.join(", ")})`);
    if (data.length < 1 + NONCE_BYTES + TAG_BYTES)
      throw new CodecError("codec_invalid_payload", `encrypted payload of ${data.length} bytes is shorter than its header and tag`);
    if (data[0] !== VERSION)
      throw new CodecError("codec_invalid_payload", `encrypted payload version ${data[0]} is not supported (only ${VERSION}, AES-256-GCM)`);
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const nonce = buf.subarray(1, 1 + NONCE_BYTES);
    const tag = buf.subarray(buf.length - TAG_BYTES);
    const body = buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      // node:crypto's own message says nothing secret, but a fixed one says all there is to say.
      throw new CodecError(
        "codec_decrypt_failed",
        `decryption with key ${JSON.stringify(keyId)} failed: the payload was altered or encrypted with another key of that id`,
      );
    }
  }

  /**
   * HMAC-SHA256 of the plaintext under a key derived (HKDF) from the current
   * key, prefixed with its id: equal args give equal fingerprints under one
   * key, and nothing about them can be learnt without it. After a rotation,
   * a job enqueued under the old key no longer blocks an equal new one.
   */
  fingerprint(data: Uint8Array): string {
    this.#macKey ??= Buffer.from(hkdfSync("sha256", this.#keys.get(this.#current)!, Buffer.alloc(0), "ojs-connect unique args", 32));
    return `${this.#current}:${createHmac("sha256", this.#macKey).update(data).digest("base64url")}`;
  }

  /** A description without key material. */
  toString(): string {
    return `AesGcmCodec(currentKeyId=${JSON.stringify(this.#current)}, keyIds=${JSON.stringify(this.keyIds)})`;
  }

  /** What JSON.stringify shows: ids only. */
  toJSON(): { encoding: string; currentKeyId: string; keyIds: string[] } {
    return { encoding: this.encoding, currentKeyId: this.#current, keyIds: this.keyIds };
  }

  /** What console.log and util.inspect show: ids only. */
  [inspect.custom](): string {
    return this.toString();
  }
}

function checkKeyId(id: string): string {
  if (id === "" || id.length > MAX_KEY_ID) throw new CodecError("codec_key_invalid", `AesGcmCodec: a key id must have 1 to ${MAX_KEY_ID} characters`);
  return id;
}

function toKeyObject(id: string, key: Uint8Array | KeyObject): KeyObject {
  if (key instanceof Uint8Array) {
    if (key.length !== KEY_BYTES)
      throw new CodecError("codec_key_invalid", `AesGcmCodec: key ${JSON.stringify(id)} has ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
    // createSecretKey copies the bytes: the caller's buffer can be wiped.
    return createSecretKey(Buffer.from(key));
  }
  if (typeof key === "object" && key !== null && (key as KeyObject).type === "secret") {
    const k = key as KeyObject;
    if (k.symmetricKeySize !== KEY_BYTES)
      throw new CodecError("codec_key_invalid", `AesGcmCodec: key ${JSON.stringify(id)} has ${k.symmetricKeySize ?? 0} bytes; AES-256 needs ${KEY_BYTES}`);
    return k;
  }
  throw new CodecError("codec_key_invalid", `AesGcmCodec: key ${JSON.stringify(id)} must be 32 bytes (Buffer, Uint8Array) or a secret KeyObject`);
}
