/**
 * TLS and mTLS served by the embedded server itself, on its one port:
 * gRPC (h2 by ALPN) and HTTP/JSON (http/1.1 by ALPN) over TLS with
 * certificates made for the test, client certificates required with a CA,
 * and mapped to roles by the auth configuration.
 */
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, Client, OjsError, PermissionDeniedError, Worker } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { eventually, TRANSPORTS, uniqueQueue } from "../helpers.js";
import { hasOpenssl, makePki, type Pki } from "../support/tls-proxy.js";

describe.skipIf(!hasOpenssl)("TLS on the one port", () => {
  let pki: Pki;
  let tls: OjsServer;
  let mtls: OjsServer;
  beforeAll(async () => {
    pki = makePki(["worker-7", "ops-1", "stranger"]);
    tls = await startServer({ tls: { cert: pki.serverCert, key: pki.serverKey }, auth: { token: "tls-admin-token" } });
    mtls = await startServer({
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca },
      auth: {
        keys: [{ name: "producer", token: "mtls-producer-token", role: "producer" }],
        clientCertificates: [
          { subject: "worker-7", role: "worker" },
          { subject: "ops-1", roles: ["admin"] },
        ],
      },
    });
  }, 30_000);
  afterAll(async () => {
    await tls?.close();
    await mtls?.close();
  });

  it("says https in its url and offers h2 and http/1.1 by ALPN", async () => {
    expect(tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const proto of ["h2", "http/1.1"]) {
      const got = await new Promise<string | false>((resolve, reject) => {
        const s = tlsConnect({ host: "127.0.0.1", port: tls.port, ca: pki.ca, ALPNProtocols: [proto] }, () => {
          resolve(s.alpnProtocol ?? false);
          s.end();
        });
        s.on("error", reject);
      });
      expect(got).toBe(proto);
    }
  });

  it.each(TRANSPORTS)("serves the SDK over %s with TLS and a token", async (transport) => {
    const queue = uniqueQueue("tls");
    const c = new Client({ url: tls.url, transport, tls: { ca: pki.ca }, auth: { token: "tls-admin-token" } });
    const w = new Worker({ url: tls.url, transport, tls: { ca: pki.ca }, auth: { token: "tls-admin-token" }, queues: [queue], handleSignals: false });
    try {
      w.register("tls.add", (job) => (job.args[0] as number) + 1);
      void w.start();
      const job = await c.enqueue("tls.add", [41], { queue });
      const done = await eventually(async () => {
        const j = await c.getJob(job.id);
        return j.state === "completed" ? j : undefined;
      });
      expect(done.result).toBe(42);
      const anon = new Client({ url: tls.url, transport, tls: { ca: pki.ca } });
      await expect(anon.getJob(job.id)).rejects.toBeInstanceOf(AuthenticationError);
      await anon.close();
    } finally {
      await w.stop();
      await c.close();
    }
  });

  it.each(TRANSPORTS)("refuses a client that does not trust the certificate, or speaks cleartext, and stays up (%s)", async (transport) => {
    const untrusted = new Client({ url: tls.url, transport, timeoutMs: 3000, auth: { token: "tls-admin-token" } });
    await expect(untrusted.health()).rejects.toThrow(/certificate/);
    await untrusted.close();
    const plain = new Client({ url: tls.url.replace("https", "http"), transport, timeoutMs: 3000, auth: { token: "tls-admin-token" } });
    await expect(plain.health()).rejects.toThrow();
    await plain.close();
    const ok = new Client({ url: tls.url, transport, tls: { ca: pki.ca } });
    expect((await ok.health()).status).toBe("ok");
    await ok.close();
  });

  it.each(TRANSPORTS)("with a CA requires a client certificate and maps it to roles (%s)", async (transport) => {
    const as = (who: string | undefined, token?: string) =>
      new Client({
        url: mtls.url,
        transport,
        timeoutMs: 3000,
        tls: { ca: pki.ca, ...(who ? { cert: pki.clients[who]!.cert, key: pki.clients[who]!.key } : {}) },
        ...(token ? { auth: { token } } : {}),
      });
    // No certificate: the handshake fails (the TLS alert's wording differs by transport).
    const none = as(undefined);
    await expect(none.health()).rejects.toBeInstanceOf(OjsError);
    await none.close();

    const queue = uniqueQueue("mtls");
    const worker = as("worker-7");
    const ops = as("ops-1");
    const stranger = as("stranger");
    const producerByToken = as("stranger", "mtls-producer-token");
    try {
      // A worker certificate reads and works but may not enqueue or administer.
      await expect(worker.enqueue("mtls.x", [1], { queue })).rejects.toThrow(/certificate worker-7 \(role worker\).*needs the producer or admin role/);
      await expect(worker.pauseQueue(queue)).rejects.toBeInstanceOf(PermissionDeniedError);
      // A token beside a certificate speaks for the caller.
      const job = await producerByToken.enqueue("mtls.x", [1], { queue });
      expect((await worker.getJob(job.id)).id).toBe(job.id);
      await ops.pauseQueue(queue);
      await ops.resumeQueue(queue);
      // A certificate the CA signed but no rule names gets in the door and nowhere further.
      const err = await stranger.listQueues().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect((err as Error).message).toMatch(/client certificate \(stranger\) has no role/);
    } finally {
      for (const c of [worker, ops, stranger, producerByToken]) await c.close();
    }
  });

  it("with only a CA (no auth configured) admits every certificate the CA signed", async () => {
    const server = await startServer({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
    try {
      const c = new Client({ url: server.url, tls: { ca: pki.ca, cert: pki.clients.stranger!.cert, key: pki.clients.stranger!.key } });
      await c.pauseQueue("anything");
      await c.close();
    } finally {
      await server.close();
    }
  });

  it.each(TRANSPORTS)("a busy TLS connection outlives the headers timeout (the guard tracks it through its TLS socket) over %s", async (transport) => {
    const server = await startServer({ tls: { cert: pki.serverCert, key: pki.serverKey }, auth: { token: "t" }, headersTimeoutMs: 1_000 });
    const c = new Client({ url: server.url, transport, tls: { ca: pki.ca }, auth: { token: "t" } });
    try {
      const queue = uniqueQueue("tls-guard");
      const first = await c.enqueue("tls.keep", [1], { queue });
      // Requests keep coming on the same connection for well past the 1 s headers timeout.
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 150));
        expect((await c.getJob(first.id)).id).toBe(first.id);
      }
      const metrics = await fetchMetrics(server, pki.ca);
      expect(metrics).not.toMatch(/event="connections\.header_timeout"/);
      // The timer is real: a TLS connection that never sends a request is closed by it.
      const silent = tlsConnect({ host: "127.0.0.1", port: server.port, ca: pki.ca, ALPNProtocols: ["http/1.1"] });
      silent.on("error", () => {});
      await new Promise<void>((resolve) => silent.once("close", () => resolve()));
      expect(await fetchMetrics(server, pki.ca)).toMatch(/event="connections\.header_timeout"\} [1-9]/);
    } finally {
      await c.close();
      await server.close();
    }
  });
});

/** GET /metrics over TLS with the admin token "t". */
function fetchMetrics(server: OjsServer, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port: server.port, ca, ALPNProtocols: ["http/1.1"] }, () => {
      s.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n");
    });
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString("utf8")));
    s.on("end", () => resolve(text));
    s.on("error", reject);
  });
}
