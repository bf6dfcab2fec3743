/** The Codec Server of the encryption extension (ojs-encryption.md §9). */
export { createCodecServer, type CodecServer, type CodecServerAuth, type CodecServerOptions } from "./server.js";
export { ENCODING_JSON, type CodecServerPayload, type CodecServerResultPayload } from "./messages.js";
