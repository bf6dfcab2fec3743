/**
 * gzip compression codec (ojs-encryption.md §7, encoding "gzip/plain") on
 * node:zlib. It leaves payloads alone when compressing would not make them
 * smaller (§7.2), and bounds what it inflates, so that a small payload cannot
 * expand into gigabytes in a worker.
 */
import { gunzip, gzip } from "node:zlib";
import { promisify } from "node:util";
import { CodecError } from "./errors.js";
import type { CodecOutput, PayloadCodec } from "./types.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The encoding name the spec gives gzip (§7.1). */
export const ENCODING_GZIP = "gzip/plain";

/** Options of {@link GzipCodec}. */
export interface GzipCodecOptions {
  /** Payloads smaller than this many bytes are left as they are; default 1024 (§7.2). */
  minBytes?: number;
  /** zlib level 1 (fast) to 9 (small); default 6. */
  level?: number;
  /** Largest decompressed payload accepted, in bytes; default 64 MiB. */
  maxDecodedBytes?: number;
}

/**
 * gzip payload codec. Put it before an encryption codec (ciphertext does not compress).
 *
 * ```ts
 * const client = new Client({ url, codecs: [new GzipCodec(), new AesGcmCodec({ keys, currentKeyId })] });
 * ```
 */
export class GzipCodec implements PayloadCodec {
  /** Always "gzip/plain". */
  readonly encoding = ENCODING_GZIP;
  private readonly minBytes: number;
  private readonly level: number;
  private readonly maxDecodedBytes: number;

  constructor(opts: GzipCodecOptions = {}) {
    this.minBytes = count(opts.minBytes, 1024, "minBytes", 0);
    this.level = count(opts.level, 6, "level", 1, 9);
    this.maxDecodedBytes = count(opts.maxDecodedBytes, 64 * 1024 * 1024, "maxDecodedBytes", 1);
  }

  /** Compresses, or leaves the bytes (skipped) when they are small or do not shrink. */
  async encode(data: Uint8Array): Promise<CodecOutput> {
    if (data.length < this.minBytes) return { data, skipped: true };
    const out = await gzipAsync(data, { level: this.level });
    return out.length < data.length ? { data: out } : { data, skipped: true };
  }

  /** Inflates, refusing output past maxDecodedBytes. */
  async decode(data: Uint8Array): Promise<Uint8Array> {
    try {
      return await gunzipAsync(data, { maxOutputLength: this.maxDecodedBytes });
    } catch (e) {
      const tooBig = (e as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE";
      throw new CodecError(
        "codec_invalid_payload",
        tooBig ? `gzip payload inflates past maxDecodedBytes (${this.maxDecodedBytes})` : "gzip payload is not valid gzip data",
      );
    }
  }
}

function count(v: number | undefined, dflt: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new CodecError("codec_invalid_config", `GzipCodec: ${name} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? "" : ` to ${max}`}`);
  return v;
}
