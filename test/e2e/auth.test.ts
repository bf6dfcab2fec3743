/**
 * The SDK's own auth options (`auth: { token }`, `auth: { apiKey }`,
 * OJS_AUTH_TOKEN) against a server with roles, over both transports: the right
 * key works for Client and Worker, a missing or wrong key is an
 * AuthenticationError, a key without the role is a PermissionDeniedError, and
 * neither is retried.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ManifestResponseSchema } from "../../gen/ojs/v1/service_pb.js";
import { AuthenticationError, Client, PermissionDeniedError, type Worker } from "../../src/index.js";
import { FAST_PATH_EXTENSION } from "../../src/transport/grpc/fastpath.js";
import { client, eventually, TRANSPORTS, uniqueQueue, useServer, worker } from "../helpers.js";

const KEYS = { producer: "p-key-1b9d6b", worker: "w-key-77c0e2", readonly: "r-key-c4a0d8", admin: "a-key-3e55f1" };
const ctx = useServer({
  auth: {
    keys: [
      { name: "api", token: KEYS.producer, role: "producer" },
      { name: "runner", token: KEYS.worker, role: "worker" },
      { name: "dashboard", token: KEYS.readonly, role: "readonly" },
      { name: "ops", token: KEYS.admin, role: "admin" },
    ],
  },
});

describe.each(TRANSPORTS)("auth over %s", (transport) => {
  const open: Array<Client | Worker> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await ("stop" in o ? o.stop() : o.close());
  });
  const mkClient = (auth?: { token: string } | { apiKey: string }) => {
    const c = client(ctx.url, transport, { timeoutMs: 5000, ...(auth ? { auth } : {}) });
    open.push(c);
    return c;
  };

  it("a producer enqueues, a worker processes, a read-only key reads the result", async () => {
    const queue = uniqueQueue("auth");
    const producer = mkClient({ token: KEYS.producer });
    const w = worker(ctx.url, transport, { queues: [queue], auth: { token: KEYS.worker } });
    open.push(w);
    w.register("auth.echo", (job) => ({ echoed: job.args[0] as string }));
    void w.start();
    const job = await producer.enqueue("auth.echo", ["hi"], { queue });
    const reader = mkClient({ apiKey: KEYS.readonly });
    const done = await eventually(async () => {
      const j = await reader.getJob(job.id);
      return j.state === "completed" ? j : undefined;
    });
    expect(done.result).toEqual({ echoed: "hi" });
  });

  it("without a key, or with a wrong one, calls fail with AuthenticationError and are not retried", async () => {
    for (const c of [mkClient(), mkClient({ token: "not-a-key" }), mkClient({ apiKey: "not-a-key" })]) {
      const started = Date.now();
      const err = await c.enqueue("auth.x", [1]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).toBe("unauthenticated");
      expect((err as AuthenticationError).retryable).toBe(false);
      expect((err as Error).message).toMatch(/not valid|needs credentials/);
      expect(Date.now() - started).toBeLessThan(3000);
    }
  });

  it("a key without the role gets PermissionDeniedError naming the role it needs", async () => {
    const producer = mkClient({ token: KEYS.producer });
    const err = await producer.pauseQueue("auth-q").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as Error).message).toMatch(/needs the admin role/);
    const reader = mkClient({ token: KEYS.readonly });
    await expect(reader.enqueue("auth.x", [1])).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(reader.listQueues()).resolves.toBeDefined();
    const admin = mkClient({ token: KEYS.admin });
    await expect(admin.pauseQueue("auth-q")).resolves.toBeUndefined();
    await admin.resumeQueue("auth-q");
  });

  it("a worker whose key lacks the worker role reports the refusal instead of taking jobs", async () => {
    const queue = uniqueQueue("auth");
    const w = worker(ctx.url, transport, { queues: [queue], auth: { token: KEYS.producer } });
    open.push(w);
    const seen: unknown[] = [];
    w.on("error", ({ error }) => seen.push(error));
    w.on("stream.reconnect", ({ error }) => seen.push(error));
    w.register("auth.never", () => {
      throw new Error("must not run");
    });
    void w.start();
    const err = await eventually(() => seen.find((e) => e instanceof PermissionDeniedError), 8000);
    expect((err as Error).message).toMatch(/needs the worker or admin role/);
  });

  it("OJS_AUTH_TOKEN gives the client its token", async () => {
    const before = process.env.OJS_AUTH_TOKEN;
    process.env.OJS_AUTH_TOKEN = KEYS.producer;
    try {
      const c = mkClient();
      expect((await c.enqueue("auth.env", [1], { queue: uniqueQueue("auth") })).state).toBe("available");
    } finally {
      if (before === undefined) delete process.env.OJS_AUTH_TOKEN;
      else process.env.OJS_AUTH_TOKEN = before;
    }
  });

  it("events stream with a read-only key, and not without one", async () => {
    const ac = new AbortController();
    const reader = mkClient({ token: KEYS.readonly });
    const queue = uniqueQueue("auth");
    const got = (async () => {
      for await (const e of reader.events({ queues: [queue], signal: ac.signal })) if (e.type === "job.enqueued") return e;
      return undefined;
    })();
    const producer = mkClient({ token: KEYS.producer });
    await eventually(async () => {
      await producer.enqueue("auth.ev", [1], { queue });
      return Promise.race([got, new Promise((r) => setTimeout(() => r(undefined), 200))]);
    });
    ac.abort();
    const anon = mkClient();
    const it = anon.events({ signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe("a refusal at the door of another server", () => {
  it("fails a fast-path call at once when the server answers trailers-only and leaves the stream half-open", async () => {
    // A server that lists the fast path, then refuses its stream without resetting it,
    // as an auth middleware in front of a gRPC server may: the pipeline never half-closes,
    // so before the fix the call waited for its deadline.
    const refused: string[] = [];
    const h2 = createServer();
    h2.on("stream", (stream, headers) => {
      // The refused stream stays open (that is the point); the client's session ends with
      // GOAWAY(CANCEL) on close, and Node 22 destroys such a stream with an error event.
      stream.on("error", () => {});
      stream.resume();
      const path = String(headers[":path"]);
      if (path === "/ojs.v1.OJSService/Manifest") {
        const body = toBinary(ManifestResponseSchema, create(ManifestResponseSchema, { ojsVersion: "1.0", extensions: [FAST_PATH_EXTENSION] }));
        const frame = Buffer.alloc(5 + body.length);
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(frame);
        return;
      }
      refused.push(path);
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "7", "grpc-message": "no%20entry" }, { endStream: true });
    });
    await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
    const c = new Client({ url: `http://127.0.0.1:${(h2.address() as AddressInfo).port}`, transport: "grpc", timeoutMs: 10_000 });
    try {
      const started = Date.now();
      const err = await c.enqueue("door.x", [1]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(refused).toEqual(["/ojsconnect.v1.FastPathService/EnqueueStream"]);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await c.close();
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });
});
