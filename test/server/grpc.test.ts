/** The gRPC adapter: malformed messages, error statuses, heartbeats, streams, and close(). */
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnqueueRequestSchema, GetJobRequestSchema } from "../../gen/ojs/v1/job_pb.js";
import { requestToProto } from "../../src/codec/proto.js";
import { ConflictError, NotFoundError, ValidationError } from "../../src/model/errors.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";

let server: OjsServer;
let t: GrpcTransport;
beforeAll(async () => {
  server = await startServer({ port: 0 });
  t = new GrpcTransport({ url: server.url });
});
afterAll(async () => {
  await t.close();
  await server.close();
});

/**
 * A raw gRPC unary call: the framed message as given, the trailers back. With
 * `pieces`, the frame is written in that many parts, one per turn of the event
 * loop, so that it reaches the server in separate DATA frames.
 */
function rawCall(method: string, message: Buffer, pieces = 1): Promise<{ status: string | undefined; message: string | undefined; bytes: number }> {
  return new Promise((resolve, reject) => {
    const session: ClientHttp2Session = connect(server.url);
    session.on("error", reject);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: `/ojs.v1.OJSService/${method}`,
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    let status: string | undefined;
    let msg: string | undefined;
    let bytes = 0;
    const read = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) msg = decodeURIComponent(String(h["grpc-message"]));
    };
    req.on("response", read);
    req.on("trailers", read);
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => {
      session.close();
      resolve({ status, message: msg, bytes });
    });
    req.on("error", reject);
    const size = Math.ceil(frame.length / pieces);
    const write = (at: number): void => {
      if (at + size >= frame.length) return void req.end(frame.subarray(at));
      req.write(frame.subarray(at, at + size));
      setImmediate(write, at + size);
    };
    write(0);
  });
}

describe("malformed requests", () => {
  it("a message that is not valid protobuf is INVALID_ARGUMENT, and the server keeps serving", async () => {
    const r = await rawCall("Enqueue", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(r.status).toBe("3");
    const ok = await rawCall(
      "GetJob",
      Buffer.from(toBinary(GetJobRequestSchema, create(GetJobRequestSchema, { jobId: "019539a4-0000-7000-8000-000000000000" }))),
    );
    expect(ok.status).toBe("5");
  });

  it("a standard Enqueue whose request arrives in pieces (the frame header split too) is answered with its job", async () => {
    // The hand-framed unary path reads the HTTP/2 stream itself (src/server/grpc/raw.ts): every chunk counts.
    const message = Buffer.from(toBinary(EnqueueRequestSchema, create(EnqueueRequestSchema, { type: "split.job", args: [] })));
    const r = await rawCall("Enqueue", message, 7);
    expect(r.status).toBe("0");
    expect(r.bytes).toBeGreaterThan(5);
  });

  it("an unknown method is UNIMPLEMENTED", async () => {
    expect((await rawCall("NoSuchMethod", Buffer.alloc(0))).status).toBe("12");
  });

  it("validation failures are INVALID_ARGUMENT with the wire field named", async () => {
    const bad = requestToProto({ type: "Bad Type", args: [] });
    const err = await t.enqueue({ type: bad.type, args: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).grpcCode).toBe(3);
    const policy = await t.enqueue({ type: "a.b", args: [], retry: { maxAttempts: -1 } }).catch((e: unknown) => e);
    expect(policy).toMatchObject({ code: "validation_error", message: expect.stringContaining("max_attempts") });
  });
});

describe("semantics over gRPC", () => {
  it("heartbeat of a job the worker does not hold is refused, so the worker learns it lost the job", async () => {
    await expect(t.heartbeat({ workerId: "w", state: "running", activeJobIds: ["019539a4-0000-7000-8000-000000000001"] })).resolves.toMatchObject({
      lost: ["019539a4-0000-7000-8000-000000000001"],
    });
    const job = await t.enqueue({ type: "hb.t", args: [], queue: "hb" });
    const [got] = await t.fetch({ queues: ["hb"], count: 1, workerId: "w1" });
    expect(got!.id).toBe(job.id);
    expect(await t.heartbeat({ workerId: "w1", state: "running", activeJobIds: [job.id] })).toMatchObject({ directive: "running", extended: [job.id] });
    expect((await t.heartbeat({ workerId: "w2", state: "running", activeJobIds: [job.id] })).lost).toEqual([job.id]);
  });

  it("errors carry the OJS code: not found, conflict, duplicate", async () => {
    await expect(t.getJob("019539a4-0000-7000-8000-0000000000ff")).rejects.toBeInstanceOf(NotFoundError);
    const job = await t.enqueue({ type: "c.t", args: [], queue: "cq" });
    await expect(t.ack({ jobId: job.id })).rejects.toBeInstanceOf(ConflictError);
    await expect(t.enqueue({ type: "c.t", args: [], id: job.id })).rejects.toMatchObject({ code: "duplicate" });
  });

  it("a cancelled job reads back with cancelled_at and no completed_at", async () => {
    const job = await t.enqueue({ type: "x.t", args: [], queue: "xq" });
    const c = await t.cancelJob(job.id);
    expect(c.state).toBe("cancelled");
    expect(c.cancelledAt).toBeInstanceOf(Date);
    expect(c.completedAt).toBeUndefined();
  });

  it("StreamEvents delivers lifecycle events for its filter", async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of t.streamEvents({ queues: ["se"] }, { signal: ac.signal })) {
        seen.push(e.type);
        if (seen.length === 2) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const job = await t.enqueue({ type: "s.e", args: [], queue: "se" });
    await t.cancelJob(job.id);
    await done;
    expect(seen).toEqual(["job.enqueued", "job.cancelled"]);
  });
});

describe("close", () => {
  it("ends open streams and the server stops accepting", async () => {
    const s = await startServer({ port: 0 });
    const tr = new GrpcTransport({ url: s.url });
    const ac = new AbortController();
    const stream = (async () => {
      const got: string[] = [];
      try {
        for await (const j of tr.streamJobs!({ queues: ["never"], workerId: "w", maxConcurrent: 1 }, { signal: ac.signal })) got.push(j.id);
      } catch {
        // the server going away may end the stream with an error; either way it ends
      }
      return got;
    })();
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await s.close();
    expect(await stream).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
    await tr.close();
    // Stops accepting: a new connection to the same address is refused.
    const late = new GrpcTransport({ url: s.url, timeoutMs: 2000 });
    await expect(late.health()).rejects.toMatchObject({ name: "ConnectionError" });
    await late.close();
  });
});
