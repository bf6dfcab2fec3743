import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

/** Whether the openssl command is here: tests that make certificates skip without it. */
export const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Client certificates with these common names, when asked for. */
  clients: Record<string, { cert: string; key: string }>;
}

/**
 * A throwaway CA with a server certificate for 127.0.0.1/localhost and a client
 * certificate (openssl), plus one client certificate per name in `clients` (CN = name).
 */
export function makePki(clients: string[] = []): Pki {
  const dir = mkdtempSync(join(tmpdir(), "ojs-pki-"));
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=ojs-test-ca");
    writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const who of ["server", "client"]) {
      run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=ojs-test-${who}`);
      run(
        "x509",
        "-req",
        "-in",
        `${who}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${who}.crt`,
        "-days",
        "1",
        "-extfile",
        "san.ext",
      );
    }
    clients.forEach((cn, i) => {
      run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `c${i}.key`, "-out", `c${i}.csr`, "-subj", `/CN=${cn}`);
      run("x509", "-req", "-in", `c${i}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `c${i}.crt`, "-days", "1");
    });
    const read = (f: string) => readFileSync(join(dir, f), "utf8");
    const named = Object.fromEntries(clients.map((cn, i) => [cn, { cert: read(`c${i}.crt`), key: read(`c${i}.key`) }]));
    return {
      ca: read("ca.crt"),
      serverCert: read("server.crt"),
      serverKey: read("server.key"),
      clientCert: read("client.crt"),
      clientKey: read("client.key"),
      clients: named,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * TLS in front of the (cleartext) embedded server: terminates TLS, offering h2
 * and http/1.1 by ALPN, and forwards the bytes. With `requireClientCert` it is mTLS.
 */
export async function startTlsProxy(target: string, pki: Pki, requireClientCert = false): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target);
  const server: Server = createServer(
    {
      key: pki.serverKey,
      cert: pki.serverCert,
      ca: pki.ca,
      ALPNProtocols: ["h2", "http/1.1"],
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
    },
    (tlsSocket) => {
      const upstream = connect(Number(t.port), t.hostname);
      tlsSocket.pipe(upstream).pipe(tlsSocket);
      const close = () => {
        tlsSocket.destroy();
        upstream.destroy();
      };
      tlsSocket.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
