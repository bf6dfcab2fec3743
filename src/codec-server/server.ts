/**
 * The Codec Server (ojs-encryption.md §9): a small HTTP service, run by the
 * user next to their keys, that encodes and decodes payloads for tools that
 * hold no keys (the dashboard, scripts). The job server never sees it, its
 * keys or the plaintext: the browser asks it directly, when the operator has
 * allowed that origin.
 *
 * Every request is bounded (body size, payload count), answered in JSON, and
 * refused early when its origin, credentials, method or content type are
 * wrong. Nothing is logged; errors name codes, key ids and encodings, never
 * keys or payload bytes.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CodecChain } from "../codec/payload/chain.js";
import type { PayloadCodec } from "../codec/payload/types.js";
import { CodecRequestError, decodePayloads, encodePayloads, parsePayloads } from "./messages.js";

/** Who may call a Codec Server. */
export type CodecServerAuth =
  /** Bearer tokens, any of which is accepted (`Authorization: Bearer <token>`). */
  | { tokens: readonly string[] }
  /** Your own check (a JWT, a session): resolve true to let the request in. */
  | ((req: IncomingMessage) => boolean | Promise<boolean>)
  /** No credentials: only for a server on loopback that nothing else can reach. */
  | "none";

/** Options of {@link createCodecServer}. */
export interface CodecServerOptions {
  /** The codecs, as given to the Client and Worker (their order is the encoding order). */
  codecs: readonly PayloadCodec[];
  /**
   * Who may call (ENC §9.3 requires authentication). `"none"` must be said
   * explicitly, so a server without credentials is never one by accident.
   */
  auth: CodecServerAuth;
  /**
   * Browser origins that may call, with CORS (the dashboard's origin, e.g.
   * "http://127.0.0.1:8080"). A request carrying any other Origin is refused
   * with 403; requests without one (scripts) are let through to `auth`.
   */
  cors?: { origins: readonly string[] };
  /** Largest request body in bytes; past it 413. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Most payloads in one request; past it 400. Default 256. */
  maxPayloads?: number;
}

/** A running (or ready to run) Codec Server. */
export interface CodecServer {
  /**
   * The request handler, for mounting in your own node:http(s) server. It
   * answers paths ending in /codec/encode and /codec/decode, so it works under a prefix.
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Listens on its own HTTP server (default 127.0.0.1, a free port); resolves with its URL. */
  listen(opts?: { port?: number; host?: string }): Promise<string>;
  /** The URL once listening. */
  readonly url: string | undefined;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
  /** close(), for `await using codec = createCodecServer(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const JSON_TYPE = "application/json; charset=utf-8";

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A token's digest: comparing digests takes the same time whatever the tokens' lengths. */
const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

function checkOptions(opts: CodecServerOptions): void {
  const auth = opts.auth as unknown;
  const tokensOk =
    typeof auth === "object" &&
    auth !== null &&
    Array.isArray((auth as { tokens?: unknown }).tokens) &&
    (auth as { tokens: unknown[] }).tokens.length > 0 &&
    (auth as { tokens: unknown[] }).tokens.every((t) => typeof t === "string" && t.length > 0);
  if (!(auth === "none" || typeof auth === "function" || tokensOk))
    throw new TypeError('createCodecServer: auth must be { tokens: [non-empty strings] }, a function, or "none"');
  for (const o of opts.cors?.origins ?? []) {
    let origin: string | undefined;
    try {
      origin = new URL(o).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== o)
      throw new TypeError(
        `createCodecServer: cors.origins: ${JSON.stringify(o)} is not an origin like "https://dash.example.com" (scheme, host, port; no path)`,
      );
  }
  for (const k of ["maxBodyBytes", "maxPayloads"] as const) {
    const v = opts[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new TypeError(`createCodecServer: ${k} must be a whole number from 1 up`);
  }
}

/**
 * A Codec Server for these codecs: POST /codec/decode and /codec/encode with
 * `{ "payloads": [{ "data": "<base64>", "metadata": {...} }] }` (ENC §9.2).
 * Run it where your keys are; point the dashboard at it (README "Seeing
 * decoded payloads in the dashboard").
 *
 * ```ts
 * const codec = createCodecServer({
 *   codecs: [new AesGcmCodec({ keys, currentKeyId: "2026-12" })],
 *   auth: { tokens: [process.env.CODEC_TOKEN!] },
 *   cors: { origins: ["https://jobs.example.com"] },
 * });
 * console.log(await codec.listen({ port: 8090 }));
 * ```
 */
export function createCodecServer(opts: CodecServerOptions): CodecServer {
  checkOptions(opts);
  const chain = new CodecChain(opts.codecs);
  const maxBodyBytes = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const maxPayloads = opts.maxPayloads ?? 256;
  const origins = new Set(opts.cors?.origins ?? []);
  const tokens = typeof opts.auth === "object" ? opts.auth.tokens.map(digest) : [];

  async function authorized(req: IncomingMessage): Promise<boolean> {
    if (opts.auth === "none") return true;
    if (typeof opts.auth === "function") return (await opts.auth(req)) === true;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    if (!m) return false;
    const given = digest(m[1]!);
    let ok = false;
    for (const t of tokens) ok = timingSafeEqual(t, given) || ok;
    return ok;
  }

  function readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers["content-length"]);
      if (declared > maxBodyBytes) return reject(new HttpFailure(413, "payload_too_large", `the body is over ${maxBodyBytes} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > maxBodyBytes) {
          reject(new HttpFailure(413, "payload_too_large", `the body is over ${maxBodyBytes} bytes`));
          req.removeAllListeners("data");
          req.resume();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) throw new HttpFailure(403, "origin_not_allowed", "this origin may not call the codec server (createCodecServer cors.origins)");
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
    }
    const path = new URL(req.url ?? "/", "http://codec.invalid").pathname;
    const op = path.endsWith("/codec/decode") ? "decode" : path.endsWith("/codec/encode") ? "encode" : undefined;
    if (!op) throw new HttpFailure(404, "not_found", "the codec server answers POST /codec/decode and /codec/encode");
    if (req.method === "OPTIONS" && origin !== undefined) {
      res.writeHead(204, {
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
      });
      res.end();
      return;
    }
    if (req.method !== "POST") throw new HttpFailure(405, "method_not_allowed", `use POST on /codec/${op}`);
    if (!(await authorized(req))) throw new HttpFailure(401, "unauthenticated", "missing or wrong credentials for the codec server");
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? ""))
      throw new HttpFailure(415, "unsupported_media_type", "send the body as application/json");
    const text = (await readBody(req)).toString("utf8");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpFailure(400, "invalid_request", "the body is not JSON");
    }
    const payloads = parsePayloads(body, maxPayloads);
    const out = op === "decode" ? await decodePayloads(chain, payloads) : await encodePayloads(chain, payloads);
    send(res, 200, { payloads: out });
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.on("error", () => {}); // a client that goes away is not the process's problem
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpFailure) {
        // The rest of an oversized body is not read: end the connection rather than drain it.
        if (e.status === 413) res.shouldKeepAlive = false;
        send(res, e.status, { error: { code: e.code, message: e.message } });
      } else if (e instanceof CodecRequestError) send(res, 400, { error: { code: e.code, message: e.message } });
      // Anything else (an auth function that threw, say) may carry anything: say only that it failed.
      else send(res, 500, { error: { code: "internal", message: "the codec server failed on this request" } });
    });
  };

  let server: Server | undefined;
  let url: string | undefined;
  return {
    handler,
    get url() {
      return url;
    },
    async listen({ port = 0, host = "127.0.0.1" } = {}) {
      if (server) throw new Error("createCodecServer: already listening");
      const s = createServer(handler);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, host, () => {
          s.off("error", reject);
          resolve();
        });
      });
      const a = s.address() as AddressInfo;
      url = `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
      return url;
    },
    async close() {
      const s = server;
      if (!s) return;
      server = undefined;
      url = undefined;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}
