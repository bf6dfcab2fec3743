/**
 * The messages of the Codec Server (ojs-encryption.md §9.2): what a request to
 * POST /codec/encode or /codec/decode must hold, checked before any codec runs,
 * and what each payload becomes. A payload that cannot be encoded or decoded
 * gets its own error in its place, so one bad payload does not hide the others.
 */
import { CodecChain } from "../codec/payload/chain.js";
import { CodecError } from "../codec/payload/errors.js";
import { CODEC_META_PREFIX, META_ENCODINGS, META_KEY_ID } from "../codec/payload/types.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";

/** The encoding name of a payload that is plain JSON text (what decode returns, what encode takes). */
export const ENCODING_JSON = "json/plain";

/** One payload of a Codec Server request or answer: base64 bytes and what they are. */
export interface CodecServerPayload {
  /** The bytes, base64. For a plain payload, the UTF-8 JSON text. */
  data: string;
  /** What the bytes are: for an encoded payload the `ojs.codec.*` meta recorded with it (the job's meta, or an encoded result's own `meta`). */
  metadata?: JsonObject;
}

/** A payload in an answer: the result, or the reason this one payload failed. */
export type CodecServerResultPayload = CodecServerPayload | { error: { code: string; message: string } };

/** A request was malformed: answered 400 with this code. */
export class CodecRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The payloads of a request body, checked: at most `maxPayloads`, each with base64 data and object metadata. */
export function parsePayloads(body: unknown, maxPayloads: number): CodecServerPayload[] {
  if (!isJsonObject(body) || !Array.isArray(body.payloads))
    throw new CodecRequestError("invalid_request", 'the body must be a JSON object { "payloads": [...] }');
  if (body.payloads.length > maxPayloads)
    throw new CodecRequestError("invalid_request", `at most ${maxPayloads} payloads in one request, got ${body.payloads.length}`);
  return body.payloads.map((p, i) => {
    if (!isJsonObject(p) || typeof p.data !== "string" || p.data.length % 4 !== 0 || !BASE64.test(p.data))
      throw new CodecRequestError("invalid_request", `payloads[${i}].data: must be a base64 string`);
    if (p.metadata !== undefined && !isJsonObject(p.metadata)) throw new CodecRequestError("invalid_request", `payloads[${i}].metadata: must be an object`);
    return p.metadata === undefined ? { data: p.data } : { data: p.data, metadata: p.metadata };
  });
}

/**
 * The codec meta of a payload's metadata: the `ojs.codec.*` entries as the SDK
 * records them; failing those, the spec example's `encoding` ("+"-joined,
 * outermost first) and `encryption_key_id`.
 */
function codecMeta(metadata: JsonObject = {}): JsonObject {
  const meta: JsonObject = {};
  for (const [k, v] of Object.entries(metadata)) if (k.startsWith(CODEC_META_PREFIX)) meta[k] = v;
  if (meta[META_ENCODINGS] === undefined && typeof metadata.encoding === "string" && metadata.encoding !== ENCODING_JSON)
    meta[META_ENCODINGS] = metadata.encoding.split("+").reverse();
  if (meta[META_KEY_ID] === undefined && typeof metadata.encryption_key_id === "string") meta[META_KEY_ID] = metadata.encryption_key_id;
  return meta;
}

/** What a failed payload shows: a CodecError's code and message (they name key ids, never keys), else a generic line. */
function failure(e: unknown): CodecServerResultPayload {
  if (e instanceof CodecError) return { error: { code: e.code, message: e.message } };
  if (e instanceof CodecRequestError) return { error: { code: e.code, message: e.message } };
  // A custom codec's own error may say anything, key material included: only that it failed.
  return { error: { code: "codec_failed", message: "the codec failed on this payload" } };
}

/** Decodes each payload to plain JSON text (base64), with metadata { encoding: "json/plain" }. */
export async function decodePayloads(chain: CodecChain, payloads: readonly CodecServerPayload[]): Promise<CodecServerResultPayload[]> {
  const out: CodecServerResultPayload[] = [];
  for (const p of payloads) {
    try {
      const value = await chain.decodeValue({ ojs_encoded: true, encoding: "", data: p.data }, codecMeta(p.metadata));
      out.push({ data: Buffer.from(JSON.stringify(value), "utf8").toString("base64"), metadata: { encoding: ENCODING_JSON } });
    } catch (e) {
      out.push(failure(e));
    }
  }
  return out;
}

/**
 * Encodes each payload (base64 of JSON text): its metadata is then the codec
 * meta to record with it plus `encoding`, the applied encodings outermost
 * first. A payload every codec skipped comes back as it was.
 */
export async function encodePayloads(chain: CodecChain, payloads: readonly CodecServerPayload[]): Promise<CodecServerResultPayload[]> {
  const out: CodecServerResultPayload[] = [];
  for (const p of payloads) {
    try {
      let value: JsonValue;
      try {
        value = JSON.parse(Buffer.from(p.data, "base64").toString("utf8")) as JsonValue;
      } catch {
        throw new CodecRequestError("invalid_payload", "data is not the base64 of JSON text");
      }
      const encoded = await chain.encodeValue(value);
      out.push(
        encoded
          ? { data: encoded.payload.data, metadata: { encoding: encoded.payload.encoding, ...encoded.meta } }
          : { data: p.data, metadata: { encoding: ENCODING_JSON } },
      );
    } catch (e) {
      out.push(failure(e));
    }
  }
  return out;
}
