/**
 * The hand-framed standard unary methods answer in one write: response
 * HEADERS, the message and the OK trailers reach the client together
 * (src/server/grpc/one-write.ts). And a plain gRPC client that is not ours,
 * connect-node's, sees the same methods, messages and statuses as before.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnqueueRequestSchema } from "../../gen/ojs/v1/job_pb.js";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { frameMessage } from "../../src/transport/grpc/raw.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ fastPath: false });

/** A TCP relay in front of the server that counts the chunks the server's answers arrive in. */
class CountingRelay {
  chunks = 0;
  private readonly sockets = new Set<Socket>();
  readonly server: Server;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => undefined);
      }
      client.on("data", (b) => upstream.write(b));
      upstream.on("data", (b) => {
        this.chunks++;
        client.write(b);
      });
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

/** One unary Enqueue with node:http2's client: the status and the message's byte count. */
function enqueue(session: ClientHttp2Session, queue: string): Promise<{ status: string | undefined; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": "/ojs.v1.OJSService/Enqueue", "content-type": "application/grpc+proto", te: "trailers" });
    let status: string | undefined;
    let bytes = 0;
    req.on("trailers", (t) => (status = t["grpc-status"] === undefined ? undefined : String(t["grpc-status"])));
    req.on("data", (b: Buffer) => (bytes += b.length));
    req.on("end", () => resolve({ status, bytes }));
    req.on("error", reject);
    req.end(frameMessage(toBinary(EnqueueRequestSchema, create(EnqueueRequestSchema, { type: "one.write", options: { queue } }))));
  });
}

describe("a standard unary answer leaves the server in one write", () => {
  let relay: CountingRelay;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    const u = new URL(ctx.url);
    relay = new CountingRelay({ host: u.hostname, port: Number(u.port) });
    session = h2connect(await relay.listen());
  });
  afterAll(async () => {
    session.close();
    await relay.close();
  });

  it("headers, message and OK trailers arrive in one chunk, call after call", async () => {
    const queue = uniqueQueue("onewrite");
    // The first call also carries the session's SETTINGS and their acks.
    expect((await enqueue(session, queue)).status).toBe("0");
    const perCall: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = relay.chunks;
      const r = await enqueue(session, queue);
      expect(r.status).toBe("0");
      expect(r.bytes).toBeGreaterThan(5);
      perCall.push(relay.chunks - before);
    }
    // node:http2's public trailers API makes this two or three chunks per call.
    expect(perCall).toEqual(Array.from({ length: 10 }, () => 1));
  });
});

describe("connect-node's gRPC client against the hand-framed standard methods", () => {
  const client = () => createClient(OJSService, createGrpcTransport({ baseUrl: ctx.url }));

  it("enqueue, getJob, fetch, heartbeat, ack and nack answer as the protocol says", async () => {
    const c = client();
    const queue = uniqueQueue("cn");
    const a = await c.enqueue({ type: "cn.x", options: { queue } });
    const b = await c.enqueue({ type: "cn.x", options: { queue } });
    expect(a.job?.id).toBeTruthy();
    expect((await c.getJob({ jobId: a.job!.id })).job?.id).toBe(a.job!.id);
    const fetched = await c.fetch({ queues: [queue], count: 2, workerId: "w-cn" });
    expect(fetched.jobs.map((j) => j.id).sort()).toEqual([a.job!.id, b.job!.id].sort());
    const beat = await c.heartbeat({ id: a.job!.id, workerId: "w-cn" });
    expect(beat.newDeadline).toBeDefined();
    expect((await c.ack({ jobId: a.job!.id })).acknowledged).toBe(true);
    const n = await c.nack({ jobId: b.job!.id, error: { code: "boom", message: "failed", retryable: false } });
    expect(n.state).not.toBe(0); // a state, not UNSPECIFIED
  });

  it("an error keeps its gRPC status and its ErrorInfo", async () => {
    const c = client();
    const err = await c.ack({ jobId: "019a0000-0000-7000-8000-000000000000" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.NotFound);
    const info = err?.findDetails(ErrorInfoSchema) ?? [];
    expect(info.length).toBeGreaterThan(0);
  });

  it("many calls at once on one session each get their own answer", async () => {
    const c = client();
    const queue = uniqueQueue("cn-many");
    const jobs = await Promise.all(
      Array.from({ length: 64 }, (_, i) => c.enqueue({ type: "cn.many", options: { queue }, args: [{ kind: { case: "numberValue", value: i } }] })),
    );
    expect(new Set(jobs.map((j) => j.job!.id)).size).toBe(64);
  });
});
