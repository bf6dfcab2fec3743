import { OjsError } from "../../model/errors.js";

/** The stable codes of {@link CodecError}. */
export type CodecErrorCode =
  /** The payload names a key id this codec has no key for (a worker not yet given a rotated key, say). */
  | "codec_key_unknown"
  /** A key given to a codec is not usable (wrong length, empty id). */
  | "codec_key_invalid"
  /** Authenticated decryption failed: the ciphertext, its nonce or tag was changed, or the key is wrong. */
  | "codec_decrypt_failed"
  /** The payload records an encoding no codec of this chain handles. */
  | "codec_unknown_encoding"
  /** The payload or its codec meta is malformed (truncated, wrong version, not JSON after decoding, too large). */
  | "codec_invalid_payload"
  /** The chain or a codec is misconfigured, or a codec broke its contract. */
  | "codec_invalid_config";

/**
 * A payload could not be encoded or decoded. Its message names key ids and
 * encodings, never key material or payload bytes. `codec_key_unknown` is
 * retryable (another worker, or this one after a deploy, may hold the key);
 * the others are not.
 */
export class CodecError extends OjsError {
  override name = "CodecError";
  override readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string, opts: { operation?: string } = {}) {
    super(message, { code, retryable: code === "codec_key_unknown", ...(opts.operation ? { operation: opts.operation } : {}) });
    this.code = code;
  }
}
