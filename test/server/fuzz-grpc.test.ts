/**
 * Property-based fuzzing of every gRPC method of both services (the list comes
 * from the generated descriptors in gen/), through connect-node's routes and
 * the hand-framed ones alike: arbitrary bytes, wire-level protobuf, and valid
 * messages carrying hostile values never get INTERNAL or UNKNOWN (which
 * clients retry), the server keeps answering, and memory comes back.
 */
import fc from "fast-check";
import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { collectGarbage, grpcBody, grpcMethods, grpcSend, SERVER_FAULT_CODES } from "../support/fuzz.js";
import { closeSession, frame, grpcCall, grpcSession } from "../support/wire-calls.js";
import { serverCore } from "../../src/server/internal.js";

let server: OjsServer;
/** Heap in use after a full collection, before any fuzzing. */
let baselineHeap = 0;
let session: ClientHttp2Session;
beforeAll(async () => {
  collectGarbage();
  baselineHeap = process.memoryUsage().heapUsed;
  server = await startServer({ port: 0, limits: { maxMessageBytes: 64 * 1024, maxQueuedBytes: 1024 * 1024 } });
  session = grpcSession(server.url);
});
afterAll(async () => {
  await closeSession(session);
  await server.close();
});

const methods = grpcMethods();

describe("gRPC fuzzing", () => {
  it("the method list is read from the service descriptors", () => {
    expect(methods.length).toBeGreaterThan(25);
    expect(methods.map((m) => m.path)).toContain("/ojsconnect.v1.FastPathService/EnqueueStream");
  });

  it("every method, arbitrary input: never INTERNAL or UNKNOWN, no crash", async () => {
    const failures: string[] = [];
    const slow: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods).chain((m) => fc.record({ m: fc.constant(m), body: grpcBody(m) })),
        async ({ m, body }) => {
          if (session.destroyed || session.closed) session = grpcSession(server.url);
          const t0 = Date.now();
          const r = await grpcSend(session, m, body, 100);
          if (Date.now() - t0 > 2000) slow.push(`${m.path} ${Date.now() - t0} ms ${r.status} ${r.message}`);
          if (r.status !== undefined && SERVER_FAULT_CODES.has(r.status))
            failures.push(`${m.path} <- ${body.subarray(0, 48).toString("hex")} -> ${r.status} ${r.message}`);
        },
      ),
      { numRuns: 500, seed: Number(process.env.FUZZ_SEED ?? 20) },
    );
    expect(failures).toEqual([]);
    // Every call is answered promptly: none waits for the client to give up.
    expect(slow).toEqual([]);
  }, 120_000);

  it("afterwards: the server answers, memory is back within bounds", async () => {
    const health = await grpcCall(session, "/ojs.v1.OJSService/Health", frame(new Uint8Array(0)));
    expect(health.status).toBe("0");
    server.reset();
    collectGarbage();
    // What the fuzzed requests left behind is gone: the heap is back near where it started.
    expect(process.memoryUsage().heapUsed - baselineHeap).toBeLessThan(64 * 1024 * 1024);
    expect(serverCore(server).queued.total).toBe(0);
  });
});
