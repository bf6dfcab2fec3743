/** Payload codecs of the encryption extension (ojs-encryption.md): the contract, the chain, AES-256-GCM and gzip. */
export { CODEC_META_PREFIX, META_ENCODINGS, META_KEY_ID, META_UNIQUE_ARGS, type CodecOutput, type EncodedPayload, type PayloadCodec } from "./types.js";
export { CodecError, type CodecErrorCode } from "./errors.js";
export { CodecChain, isEncodedPayload } from "./chain.js";
export { AesGcmCodec, ENCODING_ENCRYPTED, type AesGcmCodecOptions } from "./aes-gcm.js";
export { GzipCodec, ENCODING_GZIP, type GzipCodecOptions } from "./gzip.js";
