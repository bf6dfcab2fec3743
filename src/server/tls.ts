/**
 * TLS on the one port. The TCP server stays in front (so connection limits
 * and timeouts apply to TLS and cleartext alike); each accepted socket is
 * handed to a TLS server that never listens itself, which negotiates ALPN
 * (h2 or http/1.1) and then gives the decrypted socket to the same HTTP/2 or
 * HTTP/1.1 server the cleartext path uses. With a CA, client certificates are
 * required and verified (mTLS); their names are kept on the socket so the
 * access check can map them to roles.
 */
import { readFileSync } from "node:fs";
import type { Server as Http1Server } from "node:http";
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";
import { createServer as createTlsServer, type PeerCertificate, type TLSSocket } from "node:tls";
import { ValidationError } from "../model/errors.js";

/** Certificates for TLS on the server's one port; with `ca`, every client must present a certificate it signed (mTLS). */
export interface TlsOptions {
  /** Server certificate chain (PEM), or `certFile`. */
  cert?: string | Buffer;
  /** Private key of the certificate (PEM), or `keyFile`. */
  key?: string | Buffer;
  /** CA bundle (PEM) for client certificates, or `caFile`: when set, every client must present one it signed (mTLS). */
  ca?: string | Buffer;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** TLS handshakes not done by then are cut; default 10 000 ms. */
  handshakeTimeoutMs?: number;
}

export interface ResolvedTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer | undefined;
  handshakeTimeoutMs: number;
}

/** Reads the certificate files; errors say which file and why. */
export function resolveTls(opts: TlsOptions): ResolvedTls {
  const pick = (inline: string | Buffer | undefined, file: string | undefined, what: string, required: boolean): string | Buffer | undefined => {
    if (inline !== undefined && file !== undefined) throw new ValidationError(`tls: give ${what} or ${what}File, not both`);
    if (file !== undefined) {
      try {
        return readFileSync(file);
      } catch (e) {
        throw new ValidationError(`tls: cannot read ${what}File ${file}: ${(e as Error).message}`);
      }
    }
    if (inline === undefined && required) throw new ValidationError(`tls: ${what} (or ${what}File) is required`);
    return inline;
  };
  return {
    cert: pick(opts.cert, opts.certFile, "cert", true)!,
    key: pick(opts.key, opts.keyFile, "key", true)!,
    ca: pick(opts.ca, opts.caFile, "ca", false),
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000,
  };
}

const PEER_NAMES = Symbol("ojs.peerCertificateNames");

/**
 * Returns the function that takes an accepted TCP socket through the TLS
 * handshake to the HTTP server its ALPN protocol names. Throws at start for
 * a certificate and key that do not belong together.
 */
/**
 * `onSecure` sees each TLS socket with the TCP socket it wraps (the connection
 * guard tracks connections by the TCP socket; requests arrive on the TLS one).
 * Node's TLS server does not say which TCP socket a TLS socket wraps, so the
 * pairs are kept by peer address and port while the handshake runs.
 */
export function tlsFront(
  tls: ResolvedTls,
  h1: Http1Server,
  h2: Http2Server,
  onSecure?: (secure: TLSSocket, accepted: Socket) => void,
): (socket: Socket) => void {
  const handshaking = new Map<string, Socket>();
  const peerKey = (s: Socket): string => `${s.remoteAddress}|${s.remotePort}`;
  const server = createTlsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: tls.handshakeTimeoutMs,
      ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (socket) => {
      if (tls.ca !== undefined && socket.authorized)
        (socket as TLSSocket & { [PEER_NAMES]?: string[] })[PEER_NAMES] = certificateNames(socket.getPeerCertificate());
      const accepted = handshaking.get(peerKey(socket));
      if (accepted) {
        handshaking.delete(peerKey(socket));
        onSecure?.(socket, accepted);
      }
      (socket.alpnProtocol === "h2" ? h2 : h1).emit("connection", socket);
    },
  );
  // A failed handshake (no client certificate, a plaintext client, a timeout) ends that socket only.
  server.on("tlsClientError", (_err, socket) => socket.destroy());
  return (socket) => {
    const key = peerKey(socket);
    handshaking.set(key, socket);
    socket.once("close", () => {
      if (handshaking.get(key) === socket) handshaking.delete(key);
    });
    server.emit("connection", socket);
  };
}

/**
 * The verified client certificate's names (CN, then DNS, URI, email and IP
 * SANs) for a request, or undefined without mTLS. `req.socket` of an HTTP/2
 * request is a proxy that reads through to the TLS socket.
 */
export function peerNames(socket: unknown): string[] | undefined {
  return (socket as { [PEER_NAMES]?: string[] } | undefined)?.[PEER_NAMES];
}

function certificateNames(cert: PeerCertificate): string[] {
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const part of (cert.subjectaltname ?? "").split(/,\s*/)) {
    const m = /^(DNS|URI|email|IP Address):(.+)$/.exec(part);
    if (m) names.push(m[2]!);
  }
  return names;
}
