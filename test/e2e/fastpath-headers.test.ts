/**
 * Per-call headers (CallOptions.headers) reach the server on the calls the gRPC
 * transport pipelines over the ojs-connect fast path (enqueue, ack, nack): the
 * fast path's streams carry the connection's headers only, so a call with
 * headers of its own goes as the standard unary RPC instead. Shown with auth:
 * the connection holds a read-only key, each call brings the key that may do it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Client, PermissionDeniedError } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { uniqueQueue } from "../helpers.js";

let server: OjsServer;
let client: Client;
const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  server = await startServer({
    port: 0,
    auth: {
      keys: [
        { name: "reader", token: "read-token", role: "readonly" },
        { name: "producer", token: "produce-token", role: "producer" },
        { name: "worker", token: "work-token", role: "worker" },
      ],
    },
  });
  client = new Client({ url: server.url, transport: "grpc", auth: { token: "read-token" } });
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});

it("enqueue, ack and nack over gRPC carry their per-call headers", async () => {
  const queue = uniqueQueue("hdr");
  // The connection's own key may not enqueue: proof that the check is made per call.
  await expect(client.enqueue("hdr.job", [1], { queue })).rejects.toBeInstanceOf(PermissionDeniedError);

  const a = await client.enqueue("hdr.job", [1], { queue }, as("produce-token"));
  const b = await client.enqueue("hdr.job", [2], { queue }, as("produce-token"));
  const taken = await client.transport.fetch({ queues: [queue], count: 2, workerId: "w-hdr" }, as("work-token"));
  expect(taken.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());

  await expect(client.transport.ack({ jobId: a.id, workerId: "w-hdr", result: { ok: true } })).rejects.toBeInstanceOf(PermissionDeniedError);
  await client.transport.ack({ jobId: a.id, workerId: "w-hdr", result: { ok: true } }, as("work-token"));
  const nacked = await client.transport.nack({ jobId: b.id, workerId: "w-hdr", error: { code: "boom", message: "no", retryable: false } }, as("work-token"));
  expect(nacked.state).toBe("discarded");

  expect((await client.getJob(a.id)).state).toBe("completed");
  expect((await client.getJob(b.id)).state).toBe("discarded");
});
