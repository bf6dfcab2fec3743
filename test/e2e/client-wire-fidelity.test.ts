/**
 * What the client sends and receives is what the user meant, over real sockets
 * to the embedded server wherever a real server can show it: values survive the
 * gRPC wire, transient HTTP failures are retried, outgoing requests carry what
 * was asked, and TLS and mutual TLS work on both transports. (These are the
 * places where the official ojs-js-sdk client was found to go wrong.)
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batch, Client, group, RateLimitedError, step, type OjsEvent } from "../../src/index.js";
import { parseSse } from "../../src/transport/http/sse.js";
import { parseRetryAfter } from "../../src/transport/http/errors.js";
import { authHeaders } from "../../src/transport/options.js";
import { Proxy } from "../support/proxy.js";
import { makePki, startTlsProxy } from "../support/tls-proxy.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";
import { serverCore } from "../../src/server/internal.js";

const ctx = useServer();
const run = promisify(execFile);

describe("nothing is lost on the gRPC wire", () => {
  let grpc: Client;
  let http: Client;
  beforeAll(() => {
    grpc = new Client({ url: ctx.url, transport: "grpc" });
    http = new Client({ url: ctx.url, transport: "http" });
  });
  afterAll(async () => {
    await grpc.close();
    await http.close();
  });

  it("0, false and '' in args arrive as sent (the official SDK turns them into null)", async () => {
    const queue = uniqueQueue("a1");
    const args = [0, false, "", 1, "x", true, null, [0, ""], { z: 0, f: false, e: "" }];
    await grpc.enqueue("a1.values", args, { queue });
    const [fetched] = await grpc.transport.fetch({ queues: [queue], count: 1, workerId: "w" });
    expect(fetched!.args).toEqual(args);
  });

  it("meta, result, errors, retry and unique policies, timeout and visibility timeout survive gRPC", async () => {
    const queue = uniqueQueue("a1b");
    const job = await grpc.enqueue("a1.full", [1], {
      queue,
      meta: { traceparent: "00-abc-def-01", deep: { a: { b: { c: { d: 1 } } } } },
      retry: { maxAttempts: 5, initialInterval: 60_000, jitter: false },
      unique: { keys: ["type", "args"], onConflict: "reject" },
      timeout: 9_000,
      visibilityTimeout: 7_000,
    });
    const [taken] = await grpc.transport.fetch({ queues: [queue], count: 1, workerId: "w" });
    await grpc.transport.nack({ jobId: taken!.id, error: { code: "a1.boom", message: "first", details: { n: 0 } }, workerId: "w" });
    // Read through the other binding: what the server stored, not what the gRPC client remembers.
    const stored = await http.getJob(job.id);
    expect(stored).toMatchObject({
      meta: { traceparent: "00-abc-def-01", deep: { a: { b: { c: { d: 1 } } } } },
      maxAttempts: 5,
      retry: { maxAttempts: 5, initialInterval: 60_000, jitter: false },
      unique: { keys: ["type", "args"], onConflict: "reject" },
      timeout: 9_000,
      visibilityTimeout: 7_000,
    });
    expect(stored.errors[0]).toMatchObject({ code: "a1.boom", message: "first", details: { n: 0 } });
  });

  it("the ack result reaches the server (the official SDK sends a plain object where a Struct is expected)", async () => {
    const queue = uniqueQueue("a1c");
    const job = await grpc.enqueue("a1.result", [], { queue });
    await grpc.transport.fetch({ queues: [queue], count: 1, workerId: "w" });
    await grpc.transport.ack({ jobId: job.id, result: { rows: 3, zero: 0, list: ["", false] }, workerId: "w" });
    expect((await http.getJob(job.id)).result).toEqual({ rows: 3, zero: 0, list: ["", false] });
  });

  it("a gRPC heartbeat extends exactly the jobs it names and reports the ones no longer held", async () => {
    const queue = uniqueQueue("a1d");
    const job = await grpc.enqueue("a1.beat", [], { queue });
    await grpc.transport.fetch({ queues: [queue], count: 1, workerId: "w-beat" });
    const r = await grpc.transport.heartbeat({
      workerId: "w-beat",
      state: "running",
      activeJobIds: [job.id, "019a0000-0000-7000-8000-00000000aaaa"],
      visibilityTimeoutMs: 60_000,
    });
    expect(r.extended).toEqual([job.id]);
    expect(r.lost).toEqual(["019a0000-0000-7000-8000-00000000aaaa"]);
    expect(r.directive).toBe("running");
  });

  it("progress reported through a gRPC client is recorded (ojs.v1 has no progress RPC: the gRPC transport sends it over the HTTP binding; a no-op in the official SDK)", async () => {
    const queue = uniqueQueue("a1e");
    const job = await grpc.enqueue("a1.progress", [], { queue });
    await grpc.transport.fetch({ queues: [queue], count: 1, workerId: "w" });
    await grpc.transport.reportProgress(job.id, { progress: 0.4, message: "reading" });
    expect(await http.transport.getProgress(job.id)).toMatchObject({ progress: 0.4, message: "reading" });
  });

  it("group and batch workflows arrive with all their steps over gRPC (the official SDK sends none)", async () => {
    const queue = uniqueQueue("a1f");
    const g = await grpc.workflow(group("g", [step("a1.g", [1], { queue }), step("a1.g", [2], { queue })]));
    expect(g.steps).toHaveLength(2);
    const b = await grpc.workflow(batch("b", [step("a1.b", [1], { queue })], { onComplete: step("a1.done", [], { queue }) }));
    expect(b.steps.map((s) => [s.id, s.dependsOn])).toEqual([
      ["0", []],
      ["on_complete", ["0"]],
    ]);
  });

  it("no .proto file is read at run time: the package works from any directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ojs-cwd-"));
    try {
      const entry = join(import.meta.dirname, "..", "..", "dist", "src", "index.js");
      const script = `const { Client } = await import(${JSON.stringify(entry)}); const c = new Client({ url: ${JSON.stringify(ctx.url)} }); console.log((await c.health()).status); await c.close();`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: dir });
      expect(stdout.trim()).toBe("ok");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an aborted signal cancels a gRPC call (the official SDK ignores it)", async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(grpc.getJob("019a0000-0000-7000-8000-00000000aaab", { signal: abort.signal })).rejects.toMatchObject({ code: "cancelled" });
  });
});

describe.each(TRANSPORTS)("rate limits and retries over %s", (transport) => {
  it("a full queue answers RateLimitedError with retryAfterMs, and an enqueue with an id is retried after that wait", async () => {
    const queue = uniqueQueue("full");
    serverCore(ctx.server).store.configureQueue(queue, { backpressure: { maxDepth: 1, strategy: "reject" } });
    const c = new Client({ url: ctx.url, transport, retry: { maxAttempts: 3, maxDelayMs: 200 } });
    await c.enqueue("rl.x", [1], { queue });
    const err = await c.enqueue("rl.x", [2], { queue }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    // Make room while the client waits: the retried enqueue (safe: it carries an id) then lands.
    const id =
      "019a0000-0000-7000-8000-" +
      Math.floor(Math.random() * 2 ** 48)
        .toString(16)
        .padStart(12, "0");
    setTimeout(
      () => void c.transport.fetch({ queues: [queue], count: 1, workerId: "w" }).then(([j]) => j && c.transport.ack({ jobId: j.id, workerId: "w" })),
      50,
    );
    expect((await c.enqueue("rl.x", [3], { queue, id })).id).toBe(id);
    await c.close();
  });
});

describe("transient HTTP failures are retried where that is safe", () => {
  let stub: Server;
  let url = "";
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  let failures = 0;
  beforeAll(async () => {
    stub = createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      req.resume();
      req.on("end", () => {
        if (failures > 0) {
          failures--;
          // What a proxy in front of a server answers: HTML, not JSON.
          res.writeHead(502, { "content-type": "text/html" }).end("<html><body>Bad Gateway</body></html>");
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        if (req.url!.startsWith("/ojs/v1/jobs/"))
          res.end(JSON.stringify({ job: { id: "019a0000-0000-7000-8000-000000000001", type: "t.x", queue: "default", args: [], state: "available" } }));
        else res.end(JSON.stringify({ status: "ok" }));
      });
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => stub.close(() => r())));

  it("a 502 with an HTML body is a retryable failure, and idempotent calls are retried", async () => {
    const c = new Client({ url, transport: "http", retry: { maxAttempts: 3, initialDelayMs: 10 } });
    seen.length = 0;
    failures = 1;
    expect((await c.getJob("019a0000-0000-7000-8000-000000000001")).id).toBe("019a0000-0000-7000-8000-000000000001");
    expect(seen.filter((s) => s.method === "GET")).toHaveLength(2);
    await c.close();
  });

  it("an enqueue without id or unique policy is never retried: a retry could create a second job", async () => {
    const c = new Client({ url, transport: "http", retry: { maxAttempts: 3, initialDelayMs: 10 } });
    seen.length = 0;
    failures = 5;
    await expect(c.enqueue("t.x", [])).rejects.toMatchObject({ name: "ConnectionError", httpStatus: 502 });
    expect(seen.filter((s) => s.method === "POST")).toHaveLength(1);
    failures = 1;
    await c.enqueue("t.x", [], { id: "019a0000-0000-7000-8000-000000000002" });
    expect(seen.filter((s) => s.method === "POST")).toHaveLength(3);
    failures = 0;
    await c.close();
  });

  it("OJS_AUTH_TOKEN is sent as one Bearer credential (never 'Bearer Bearer')", async () => {
    const env = { ...process.env };
    process.env.OJS_AUTH_TOKEN = "s3cret";
    try {
      const c = new Client({ url, transport: "http" });
      seen.length = 0;
      await c.health();
      expect(seen[0]!.headers.authorization).toBe("Bearer s3cret");
      await c.close();
    } finally {
      process.env = env;
    }
    expect(authHeaders({ token: "Bearer abc" })).toEqual({ authorization: "Bearer abc" });
    expect(authHeaders({ apiKey: "k" })).toEqual({ "x-ojs-api-key": "k" });
  });

  it("Retry-After is read as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

describe("what goes out is what the user meant", () => {
  it("workflow steps keep their retry policy and meta (the official SDK sends camelCase retry and drops meta)", async () => {
    for (const transport of TRANSPORTS) {
      const c = new Client({ url: ctx.url, transport });
      const queue = uniqueQueue("wfopt");
      await c.workflow(group("g", [step("wf.opt", [1], { queue, retry: { maxAttempts: 7, initialInterval: "PT3S" }, meta: { tenant: "acme" } })]));
      const [job] = await c.transport.fetch({ queues: [queue], count: 1, workerId: "w" });
      expect(job).toMatchObject({ maxAttempts: 7, retry: { maxAttempts: 7, initialInterval: 3000 }, meta: { tenant: "acme" } });
      await c.close();
    }
  });

  it("an ISO duration delay becomes an absolute time (the official SDK sends 'PT5M' as a timestamp)", async () => {
    for (const transport of TRANSPORTS) {
      const c = new Client({ url: ctx.url, transport });
      const before = Date.now();
      const job = await c.enqueue("t.delay", [], { queue: uniqueQueue(), delay: "PT5M" });
      expect(job.state).toBe("scheduled");
      expect(job.scheduledAt!.getTime()).toBeGreaterThanOrEqual(before + 300_000 - 1000);
      expect(job.scheduledAt!.getTime()).toBeLessThanOrEqual(Date.now() + 300_000 + 1000);
      await c.close();
    }
  });
});

describe("section 5: the event stream", () => {
  it.each(TRANSPORTS)("reconnects after the connection breaks and keeps delivering (%s)", async (transport) => {
    const proxy = await Proxy.start(ctx.url);
    const c = new Client({ url: proxy.url, transport });
    const producer = new Client({ url: ctx.url, transport });
    const queue = uniqueQueue("evr");
    const abort = new AbortController();
    const got: OjsEvent[] = [];
    let reconnects = 0;
    const reader = (async () => {
      for await (const e of c.events({ queues: [queue], types: ["job.enqueued"], signal: abort.signal, onReconnect: () => void reconnects++ })) got.push(e);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await producer.enqueue("ev.a", [], { queue });
    await eventually(() => got.length === 1);
    expect(proxy.cut()).toBeGreaterThan(0); // the event stream's connection was broken
    await eventually(() => reconnects > 0 && proxy.connections > 0, 5000);
    await new Promise((r) => setTimeout(r, 200));
    await producer.enqueue("ev.b", [], { queue });
    await eventually(() => got.length === 2, 5000);
    expect(got.map((e) => e.jobType)).toEqual(["ev.a", "ev.b"]);
    abort.abort();
    await reader;
    await c.close();
    await producer.close();
    await proxy.close();
  });

  it("over HTTP, events published while the connection was down are replayed on reconnect (Last-Event-ID)", async () => {
    const proxy = await Proxy.start(ctx.url);
    const c = new Client({ url: proxy.url, transport: "http" });
    const producer = new Client({ url: ctx.url, transport: "http" });
    const queue = uniqueQueue("evm");
    const abort = new AbortController();
    const got: string[] = [];
    const reader = (async () => {
      for await (const e of c.events({ queues: [queue], types: ["job.enqueued"], signal: abort.signal })) got.push(e.jobType!);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await producer.enqueue("ev.before", [], { queue });
    await eventually(() => got.length === 1);
    proxy.refuse(true);
    expect(proxy.cut()).toBeGreaterThan(0); // the reader was disconnected while ev.missed was published
    await producer.enqueue("ev.missed", [], { queue });
    await new Promise((r) => setTimeout(r, 300));
    proxy.refuse(false);
    await eventually(() => got.length === 2, 10_000);
    expect(got).toEqual(["ev.before", "ev.missed"]);
    abort.abort();
    await reader;
    await c.close();
    await producer.close();
    await proxy.close();
  });

  it("parses CRLF and CR line ends, multi-line data, comments, and chunks split anywhere", async () => {
    const text = ': hello\r\nid: 1\r\nevent: job.completed\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 2\rdata: x\r\r';
    for (const size of [1, 2, 3, 7, text.length]) {
      const chunks = (async function* () {
        for (let i = 0; i < text.length; i += size) yield Buffer.from(text.slice(i, i + size));
      })();
      const out = [];
      for await (const m of parseSse(chunks)) out.push(m);
      expect(out).toEqual([
        { id: "1", event: "job.completed", data: '{"a":\n1}' },
        { id: "2", event: "message", data: "x" },
      ]);
    }
  });
});

describe("TLS and mutual TLS for both transports", () => {
  const pki = makePki();

  it.each(TRANSPORTS)("%s connects over TLS with a custom CA, and presents a client certificate for mTLS", async (transport) => {
    const tls = await startTlsProxy(ctx.url, pki);
    const mtls = await startTlsProxy(ctx.url, pki, true);
    try {
      const c = new Client({ url: tls.url, transport, tls: { ca: pki.ca } });
      expect((await c.health()).status).toBe("ok");
      expect((await c.enqueue("tls.x", [1])).state).toBe("available");
      await c.close();
      const m = new Client({ url: mtls.url, transport, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
      expect((await m.health()).status).toBe("ok");
      await m.close();
      const untrusted = new Client({ url: tls.url, transport, timeoutMs: 3000 });
      await expect(untrusted.health()).rejects.toMatchObject({ retryable: true });
      await untrusted.close();
    } finally {
      await tls.close();
      await mtls.close();
    }
  });
});

describe("event streams on servers without one", () => {
  it("end with UnimplementedError instead of reconnecting for ever", async () => {
    const stub = createServer((req, res) => {
      req.resume();
      res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found");
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", r));
    const c = new Client({ url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`, transport: "http" });
    let reconnects = 0;
    const run = (async () => {
      for await (const _ of c.events({ queues: ["q"], onReconnect: () => void reconnects++ })) void _;
    })();
    await expect(run).rejects.toMatchObject({ name: "UnimplementedError" });
    expect(reconnects).toBe(0);
    await c.close();
    await new Promise<void>((r) => stub.close(() => r()));
  });
});
