// A server you could put on a network: TLS on the one port, client certificates
// (mTLS) and API keys with roles. Starts its own embedded server with a throwaway
// CA made by `openssl` in a temp directory, then shows who may do what.
//
// The same server from the command line:
//   npx ojs-connect serve --host 0.0.0.0 --auth-file auth.json \
//     --tls-cert server.crt --tls-key server.key --tls-ca ca.crt
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, Worker } from "ojs-connect";
import { startServer } from "ojs-connect/server";

const dir = mkdtempSync(join(tmpdir(), "ojs-example-"));
const file = (name) => join(dir, name);
const openssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

// 1. Certificates: a CA, a server certificate for 127.0.0.1, client certificates for the worker and the apps.
openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=example-ca");
writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
for (const [name, cn] of [
  ["server", "localhost"],
  ["worker", "billing-worker"],
  ["app", "checkout-service"],
]) {
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
  openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "1",
    "-extfile",
    "san.ext",
  );
}
const pem = (name) => readFileSync(file(name), "utf8");

// 2. The auth file: API keys with roles, and a role for the worker's certificate.
writeFileSync(
  file("auth.json"),
  JSON.stringify({
    keys: [
      { name: "checkout-service", token: "producer-7f3a9c2e", role: "producer" },
      { name: "dashboard", token: "readonly-41d8e0b6", role: "readonly" },
    ],
    clientCertificates: [{ subject: "billing-worker", role: "worker" }],
  }),
);

const server = await startServer({
  port: 0,
  auth: { file: file("auth.json") },
  tls: { certFile: file("server.crt"), keyFile: file("server.key"), caFile: file("ca.crt") },
});
console.log(`server on ${server.url}: TLS, client certificates required, keys with roles`);

// Every client needs a certificate the CA signed (mTLS) to get in. The app's certificate has
// no role of its own (no rule names it): its token says what it may do.
const tls = (name) => ({ ca: pem("ca.crt"), cert: pem(`${name}.crt`), key: pem(`${name}.key`) });
const producer = new Client({ url: server.url, tls: tls("app"), auth: { token: "producer-7f3a9c2e" } });
const dashboard = new Client({ url: server.url, transport: "http", tls: tls("app"), auth: { token: "readonly-41d8e0b6" } });

// The worker has no token: its certificate (CN=billing-worker) gives it the worker role.
const worker = new Worker({ url: server.url, tls: tls("worker"), queues: ["billing"], handleSignals: false });
let finished;
const done = new Promise((resolve) => (finished = resolve));
worker.register("invoice.send", (ctx) => ({ sent: ctx.args[0] }));
worker.on("job.completed", ({ job }) => finished(job));
void worker.start();

const job = await producer.enqueue("invoice.send", ["INV-1001"], { queue: "billing" });
console.log(`producer (over gRPC) enqueued ${job.id}`);
await done;
console.log(`worker (by its certificate) completed it: ${JSON.stringify((await dashboard.getJob(job.id)).result)}`);

// Roles at work: a read-only key reads but may not enqueue; a producer may not pause queues.
for (const [who, attempt] of [
  ["dashboard", () => dashboard.enqueue("invoice.send", ["INV-1002"], { queue: "billing" })],
  ["producer", () => producer.pauseQueue("billing")],
]) {
  try {
    await attempt();
    console.log(`${who}: allowed (unexpected)`);
    process.exitCode = 1;
  } catch (e) {
    console.log(`${who}: ${e.name} (${e.code}): ${e.message}`);
  }
}

await worker.stop();
await producer.close();
await dashboard.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
