/**
 * The gRPC transport against a server without the fast path (ours with
 * `fastPath: false`, which is what an official ojs.v1 server looks like):
 * every call a producer and a worker make in a loop goes over the standard
 * unary methods, hand-framed on one HTTP/2 session. The server tallies the
 * methods it was called with (core.grpcCalls), which is how each test shows
 * the way its calls went.
 */
import { createServer, type IncomingHttpHeaders } from "node:http2";
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { AuthenticationError, Client, ConflictError, DuplicateJobError, grpcTransport, NotFoundError, TimeoutError, ValidationError } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { serverCore } from "../../src/server/internal.js";
import { rawCall } from "../../src/transport/grpc/raw.js";
import { StandardCalls } from "../../src/transport/grpc/standard.js";
import { Code } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ fastPath: false });
const OJS = "/ojs.v1.OJSService/";

/** Calls of each method the server received since `before`; fast-path methods under their full path. */
function callsSince(server: OjsServer, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [path, n] of serverCore(server).grpcCalls) {
    const d = n - (before.get(path) ?? 0);
    if (d) out[path.startsWith(OJS) ? path.slice(OJS.length) : path] = d;
  }
  return out;
}

describe("gRPC standard methods (server fast path off)", () => {
  let c: Client;
  beforeAll(() => {
    c = new Client({ url: ctx.url, transport: "grpc" });
  });
  afterAll(() => c.close());

  it("the manifest offers no fast path, and says the server reads the reserved meta keys", async () => {
    const m = await c.manifest();
    expect(m.extensions).not.toContain("ojs-connect.fastpath.v1");
    expect(m.extensions).toContain("ojs-connect.reserved-meta.v1");
  });

  it("the fast path's methods are not served: a call to one is UNIMPLEMENTED, as on any other server", async () => {
    const session = new Http2SessionManager(ctx.url);
    try {
      const call = async () => {
        for await (const _ of rawCall(session, "/ojsconnect.v1.FastPathService/EnqueueStream", {}, new Uint8Array(0), AbortSignal.timeout(5_000))) void _;
      };
      await expect(call()).rejects.toMatchObject({ code: Code.Unimplemented });
    } finally {
      session.abort();
    }
  });

  it("enqueue, getJob, fetch, ack, nack and heartbeat each go over their standard method", async () => {
    const queue = uniqueQueue("std");
    const before = new Map(serverCore(ctx.server).grpcCalls);
    // Hand-framed (not through connect-es): every call passes through StandardCalls.
    const proto = StandardCalls.prototype as unknown as { call: (...a: unknown[]) => unknown };
    const original = proto.call;
    let framed = 0;
    proto.call = function (this: unknown, ...a: unknown[]) {
      framed++;
      return original.apply(this, a);
    };
    onTestFinished(() => void (proto.call = original));
    const a = await c.enqueue("std.x", [1, { deep: [true, null] }], {
      queue,
      meta: { m: "v" },
      retry: { maxAttempts: 2, initialInterval: 60_000, jitter: false },
    });
    const b = await c.enqueue("std.x", [2], { queue, retry: { maxAttempts: 2, initialInterval: 60_000, jitter: false } });
    const jobs = await c.transport.fetch({ queues: [queue], count: 2, workerId: "w-std", visibilityTimeoutMs: 5_000 });
    expect(jobs.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    const beat = await c.transport.heartbeat({ workerId: "w-std", state: "running", activeJobIds: [a.id, b.id], visibilityTimeoutMs: 10_000 });
    expect([...(beat.extended ?? [])].sort()).toEqual([a.id, b.id].sort());
    expect(beat.newDeadline).toBeInstanceOf(Date);
    await c.transport.ack({ jobId: a.id, result: { ok: true }, workerId: "w-std" });
    const nack = await c.transport.nack({ jobId: b.id, error: { code: "std.boom", message: "boom" }, workerId: "w-std" });
    expect(nack.state).toBe("retryable");
    expect(nack.nextAttemptAt).toBeInstanceOf(Date);
    const done = await c.getJob(a.id);
    expect(done).toMatchObject({ state: "completed", result: { ok: true }, args: [1, { deep: [true, null] }], meta: { m: "v" } });
    expect((await c.getJob(b.id)).errors[0]).toMatchObject({ code: "std.boom", message: "boom" });
    expect(callsSince(ctx.server, before)).toEqual({ Manifest: 1, Enqueue: 2, Fetch: 1, Heartbeat: 2, Ack: 1, Nack: 1, GetJob: 2 }); // Manifest: the transport's one probe
    expect(framed).toBe(9);
  });

  it("a client-chosen id still reaches our server (reserved meta keys), and a duplicate is refused with its code", async () => {
    const id =
      "019a0000-0000-7000-8000-" +
      Math.floor(Math.random() * 2 ** 48)
        .toString(16)
        .padStart(12, "0");
    expect((await c.enqueue("std.dup", [], { id })).id).toBe(id);
    const dup = await c.enqueue("std.dup", [], { id }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(DuplicateJobError);
    expect(dup).toMatchObject({ code: "duplicate", grpcCode: 6 });
  });

  it("errors carry the server's ErrorInfo code, class and gRPC status, as over connect", async () => {
    const missing = "019a0000-0000-7000-8000-00000000beef";
    await expect(c.transport.ack({ jobId: missing })).rejects.toMatchObject({ constructor: NotFoundError, code: "not_found", grpcCode: 5 });
    await expect(c.getJob(missing)).rejects.toBeInstanceOf(NotFoundError);
    const j = await c.enqueue("std.err", [], { queue: uniqueQueue() });
    await expect(c.transport.ack({ jobId: j.id })).rejects.toBeInstanceOf(ConflictError);
    const bad = await c.transport.enqueue({ type: "std.x", args: [], priority: 500 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad).toMatchObject({ code: "invalid_request", grpcCode: 3, operation: "enqueue" });
    // A heartbeat for a job nobody holds reports it lost rather than failing.
    expect((await c.transport.heartbeat({ workerId: "w", state: "running", activeJobIds: [missing] })).lost).toEqual([missing]);
  });

  it("a call aborted through its signal rejects with cancelled, before or while in flight; the session carries on", async () => {
    const before = new AbortController();
    before.abort();
    await expect(c.enqueue("std.abort", [], {}, { signal: before.signal })).rejects.toMatchObject({ code: "cancelled" });
    const during = new AbortController();
    const p = c.transport.fetch({ queues: [uniqueQueue()], count: 1, workerId: "w" }, { signal: during.signal });
    during.abort();
    await expect(p).rejects.toMatchObject({ code: "cancelled" });
    expect((await c.enqueue("std.after", [])).state).toBe("available");
  });

  it("many concurrent calls share one HTTP/2 session (one connection) and each caller gets its own answer", async () => {
    // A TCP relay in front of the server counts the connections the client opens.
    const sockets: Socket[] = [];
    const relay = createTcpServer((down) => {
      const up = connect(Number(new URL(ctx.url).port), "127.0.0.1");
      sockets.push(down, up);
      down.pipe(up).pipe(down);
      down.on("error", () => up.destroy());
      up.on("error", () => down.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const viaRelay = new Client({ url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`, transport: "grpc" });
    try {
      const queue = uniqueQueue("stdc");
      const before = new Map(serverCore(ctx.server).grpcCalls);
      const jobs = await Promise.all(Array.from({ length: 400 }, (_, i) => viaRelay.enqueue("std.many", [i], { queue })));
      expect(jobs.map((j) => j.args[0])).toEqual(Array.from({ length: 400 }, (_, i) => i));
      expect(new Set(jobs.map((j) => j.id)).size).toBe(400);
      const got = await Promise.all(jobs.map((j) => viaRelay.getJob(j.id)));
      expect(got.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
      expect(callsSince(ctx.server, before)).toEqual({ Manifest: 1, Enqueue: 400, GetJob: 400 });
      expect(sockets.length / 2).toBe(1);
    } finally {
      await viaRelay.close();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });
});

describe("gRPC standard methods: auth and deadlines", () => {
  let secured: OjsServer;
  beforeAll(async () => {
    secured = await startServer({ port: 0, fastPath: false, auth: { token: "std-secret-1" } });
  });
  afterAll(() => secured.close());

  it("auth metadata goes with every standard call; a wrong token is refused with its code", async () => {
    const good = new Client({ url: secured.url, transport: "grpc", auth: { token: "std-secret-1" } });
    const bad = new Client({ url: secured.url, transport: "grpc", auth: { token: "wrong" } });
    try {
      const before = new Map(serverCore(secured).grpcCalls);
      const j = await good.enqueue("std.auth", [], { queue: uniqueQueue() });
      expect((await good.getJob(j.id)).id).toBe(j.id);
      expect(callsSince(secured, before)).toMatchObject({ Enqueue: 1, GetJob: 1 });
      await expect(bad.enqueue("std.auth", [])).rejects.toBeInstanceOf(AuthenticationError);
      await expect(bad.getJob(j.id)).rejects.toMatchObject({ code: "unauthenticated" });
    } finally {
      await good.close();
      await bad.close();
    }
  });

  it("a server that never answers: the call fails with a timeout at its deadline, which it sent as grpc-timeout", async () => {
    // A real socket to a gRPC endpoint that takes every call and answers none.
    const seen: IncomingHttpHeaders[] = [];
    const silent = createServer();
    silent.on("stream", (s, headers) => {
      seen.push(headers);
      s.on("error", () => {}); // the client's cancel at its deadline
    });
    silent.on("session", (session) => session.on("error", () => {}));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const t = grpcTransport({ url, timeoutMs: 300, headers: { "x-tenant": "acme" }, auth: { token: "t0k" } });
    try {
      const err = await t.enqueue({ type: "std.silent", args: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      // The manifest probe (which timed out too), then the Enqueue itself, hand-framed.
      const enqueue = seen.find((h) => h[":path"] === `${OJS}Enqueue`);
      expect(enqueue).toMatchObject({
        "grpc-timeout": "300m",
        "x-tenant": "acme",
        authorization: "Bearer t0k",
        "content-type": "application/grpc+proto",
        te: "trailers",
      });
    } finally {
      await t.close();
      silent.close();
    }
  });
});
