/**
 * The payload codec contract of the encryption extension (ojs-encryption.md §5):
 * a codec turns bytes into bytes, the chain (chain.ts) turns a job's args and a
 * handler's result into those bytes and back, and records what it applied in
 * the job's meta so that any decoder knows how to undo it.
 */
import type { JsonValue } from "../../model/json.js";

/** Meta key listing the encodings applied to args, in the order applied (ENC §5.3). */
export const META_ENCODINGS = "ojs.codec.encodings";
/** Meta key naming the encryption key the args were encrypted with (ENC §5.3, §10.1). */
export const META_KEY_ID = "ojs.codec.key_id";
/** Meta key holding the keyed digest of args that a unique policy over args uses instead of them (ENC §15.3). */
export const META_UNIQUE_ARGS = "ojs.codec.unique_args";
/** Prefix of every meta key a codec may set. */
export const CODEC_META_PREFIX = "ojs.codec.";

/** What a codec's encode() returns. */
export interface CodecOutput {
  /** The encoded bytes. */
  data: Uint8Array;
  /**
   * Meta entries this codec needs to decode later (the key id, say). Every key
   * must start with "ojs.codec."; values are stored in plain text, so never a secret.
   */
  meta?: Readonly<Record<string, JsonValue>>;
  /**
   * True when the codec left the bytes as they were (a compression codec whose
   * output would not be smaller, ENC §7.2): its encoding is then not recorded.
   */
  skipped?: boolean;
}

/**
 * A payload codec (ENC §5.1): a reversible transformation of bytes, such as
 * encryption or compression. Codecs are chained in the order given to a Client
 * or Worker; decoding undoes them in reverse, choosing each codec by its
 * `encoding` name as recorded in `meta["ojs.codec.encodings"]`.
 *
 * ```ts
 * const rot13: PayloadCodec = {
 *   encoding: "example/xor",
 *   encode: (data) => ({ data: data.map((b) => b ^ 0x5a) }),
 *   decode: (data) => data.map((b) => b ^ 0x5a),
 * };
 * ```
 */
export interface PayloadCodec {
  /** The name recorded in `ojs.codec.encodings`, e.g. "binary/encrypted" or "gzip/plain". Unique within a chain. */
  readonly encoding: string;
  /** Encodes bytes. May be async. */
  encode(data: Uint8Array): CodecOutput | Promise<CodecOutput>;
  /** Decodes bytes this codec encoded; `meta` holds the codec entries recorded with them. May be async. */
  decode(data: Uint8Array, meta: Readonly<Record<string, JsonValue>>): Uint8Array | Promise<Uint8Array>;
  /**
   * Optional, for codecs whose output differs every time (encryption): a keyed,
   * deterministic digest of plaintext, so that a unique policy over args still
   * finds duplicates (ENC §15.3) without the server seeing the args. Must not
   * reveal the plaintext (use a keyed MAC, never a bare hash).
   */
  fingerprint?(data: Uint8Array): string;
}

/** The one element args hold once encoded (ENC §5.2), and the shape of an encoded result. */
export interface EncodedPayload {
  /** The marker (ENC-005): these args must be decoded before a handler sees them. */
  ojs_encoded: true;
  /** The applied encodings, outermost first, joined with "+" (informative; meta is authoritative). */
  encoding: string;
  /** The encoded bytes, base64. */
  data: string;
}
