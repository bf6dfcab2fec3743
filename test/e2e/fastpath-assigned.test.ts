/**
 * Enqueue on our server's fast path, answered as AssignedJobs (the job less what
 * it shares with the call's request, the client filling that in from its own
 * request: src/codec/wire/assigned.ts), against the standard unary ojs.v1
 * Enqueue, over real sockets: two servers on the same fixed clock get the same
 * calls, one through each, and the Jobs must be equal field by field. Then the
 * server's side at the byte level: assigned answers only when the stream asked,
 * and a unique policy's duplicate always in full.
 */
import { connect, type ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, grpcTransport, type EnqueueOptions, type Job } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { serverCore } from "../../src/server/internal.js";
import { systemClock } from "../../src/server/store/clock.js";
import * as wire from "../../src/codec/wire/index.js";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import type { JsonValue } from "../../src/model/json.js";
import { frameMessage } from "../../src/transport/grpc/raw.js";

const NOW = Math.floor(Date.now() / 1000) * 1000;
const ASSIGNED = "ojs-connect.assigned-enqueue.v1";

/** Calls of every shape an enqueue can have: options of each kind, values the codec must carry exactly. */
function calls(queue: string, n: number): Array<[string, JsonValue[], EnqueueOptions?]> {
  return [
    ["as.plain", []],
    ["as.values", [1, -0, 2 ** 60, "é𝄞", "lone \ud800 surrogate", "\ufeffbom", null, true, JSON.parse('{"__proto__": {"x": [1.5]}, "2": 0, "a": {}}')]],
    [
      "as.options",
      [{ i: n }],
      {
        queue,
        priority: 7,
        meta: { m: { n: [1, "x"] }, "": "", "k\udc00": 1 },
        tags: ["a", "b\ud800"],
        timeout: 5_000,
        visibilityTimeout: 30_000,
        retry: { maxAttempts: 5, initialInterval: 1_000, backoffCoefficient: 1.5, nonRetryableErrors: ["x.*"] },
      },
    ],
    ["as.scheduled", [2], { queue, scheduledAt: new Date(NOW + 60_000), expiresAt: new Date(NOW + 3_600_000) }],
    ["as.id", [3], { queue, id: `019a0000-0000-7000-8000-${String(n * 100 + 1).padStart(12, "0")}` }],
    ["as.reserved", [4], { queue, meta: { "ojs.retry_delay_ms": 5, "ojs.parent_results": { a: 1 }, "ojs.other": 1, keep: true } }],
    ["as.default", ["no queue"]],
  ];
}

/** Ids the server chose differ from server to server; the rest must not. */
const withoutServerId = (j: Job) => (j.id.startsWith("019a0000-0000-7000-8000-") ? j : { ...j, id: "" });

describe("enqueue: the fast path's assigned answers give the Jobs of the standard Enqueue", () => {
  let fastServer: OjsServer;
  let standardServer: OjsServer;
  const clients: Client[] = [];
  const fixed = { now: () => NOW, setTimer: systemClock.setTimer };
  const enqueues = (s: OjsServer, path: string) => serverCore(s).grpcCalls.get(path) ?? 0;

  beforeAll(async () => {
    fastServer = await startServer({ port: 0, store: { clock: fixed } });
    standardServer = await startServer({ port: 0, store: { clock: fixed } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fastServer.close();
    await standardServer.close();
  });

  /** A client on the fast path of the first server and one on the standard unary method of the second. */
  function pair(headers?: Record<string, string>): [Client, Client] {
    const a = new Client({ transport: grpcTransport({ url: fastServer.url, ...(headers ? { headers } : {}) }) });
    const b = new Client({ transport: grpcTransport({ url: standardServer.url, fastPath: false, ...(headers ? { headers } : {}) }) });
    clients.push(a, b);
    return [a, b];
  }

  it("the same Jobs, field for field, for calls of every kind", async () => {
    const [fast, standard] = pair();
    expect((await fast.manifest()).extensions).toContain(ASSIGNED);
    const unary = enqueues(fastServer, "/ojs.v1.OJSService/Enqueue");
    for (let n = 0; n < 3; n++) {
      for (const [type, args, options] of calls("as-q", n)) {
        const viaFast = await fast.enqueue(type, args, options);
        const viaStandard = await standard.enqueue(type, args, options);
        expect(withoutServerId(viaFast), type).toEqual(withoutServerId(viaStandard));
        // What the server stores is what the answer said (getJob's protobuf-es loses a "__proto__" key: not here).
        if (type !== "as.values") expect(await fast.getJob(viaFast.id), type).toEqual(viaFast);
      }
    }
    const values = await fast.enqueue("as.values", ["lone \ud800", -0]);
    expect(values.args[0]).toBe("lone \ufffd");
    expect(Object.is(values.args[1], -0)).toBe(true);
    // Every call went over the fast path.
    expect(enqueues(fastServer, "/ojs.v1.OJSService/Enqueue")).toBe(unary);
  });

  it("the Job's args are the client's own copy, not the caller's objects", async () => {
    const [fast] = pair();
    const args = [{ deep: [1] }];
    const job = await fast.enqueue("as.copy", args);
    expect(job.args).toEqual(args);
    expect(job.args[0]).not.toBe(args[0]);
    args[0]!.deep.push(2);
    expect(job.args).toEqual([{ deep: [1] }]);
  });

  it("meta the server adds (the tenant) comes back in full", async () => {
    const [fast, standard] = pair({ "x-ojs-tenant": "acme" });
    const options = { queue: "as-t", meta: { m: 1 } };
    const viaFast = await fast.enqueue("as.tenant", [1], options);
    expect(viaFast.meta).toEqual({ m: 1, tenant_id: "acme" });
    expect(withoutServerId(viaFast)).toEqual(withoutServerId(await standard.enqueue("as.tenant", [1], options)));
  });

  it("a unique policy's duplicate is the existing job, in full", async () => {
    const [fast, standard] = pair();
    const unique = { keys: ["type" as const, "queue" as const], onConflict: "ignore" as const };
    const first = await fast.enqueue("as.unique", [{ a: 1 }], { queue: "as-u", unique, meta: { first: true }, tags: ["one"] });
    const again = await fast.enqueue("as.unique", [{ b: 2 }], { queue: "as-u", unique, meta: { second: true }, tags: ["two"] });
    expect(again).toEqual(first);
    expect(again.args).toEqual([{ a: 1 }]);
    await standard.enqueue("as.unique", [{ a: 1 }], { queue: "as-u", unique, meta: { first: true }, tags: ["one"] });
    const standardAgain = await standard.enqueue("as.unique", [{ b: 2 }], { queue: "as-u", unique, meta: { second: true }, tags: ["two"] });
    expect(withoutServerId(again)).toEqual(withoutServerId(standardAgain));
    // replace_except_schedule: a new job that keeps the old one's schedule.
    const keep = { keys: ["type" as const], onConflict: "replace_except_schedule" as const };
    await fast.enqueue("as.keep", [1], { queue: "as-u", unique: keep, scheduledAt: new Date(NOW + 5_000) });
    const replaced = await fast.enqueue("as.keep", [2], { queue: "as-u", unique: keep, scheduledAt: new Date(NOW + 9_000) });
    expect(replaced.args).toEqual([2]);
    expect(replaced.scheduledAt).toEqual(new Date(NOW + 5_000));
    expect(await fast.getJob(replaced.id)).toEqual(replaced);
  });

  it("errors are the standard method's, and the stream goes on", async () => {
    const [fast, standard] = pair();
    const id = "019a0000-0000-7000-8000-0000000000aa";
    await fast.enqueue("as.dup", [], { id });
    await standard.enqueue("as.dup", [], { id });
    const a = await fast.enqueue("as.dup", [], { id }).catch((e: unknown) => e);
    const b = await standard.enqueue("as.dup", [], { id }).catch((e: unknown) => e);
    expect(a).toMatchObject({ name: (b as Error).name, code: (b as { code: string }).code, message: (b as Error).message });
    expect((await fast.enqueue("as.after", [1])).args).toEqual([1]);
  });

  it("against a server that does not list the extension, the client asks for nothing and reads whole Jobs", async () => {
    const older = await startServer({ port: 0, store: { clock: fixed } });
    const core = serverCore(older);
    const manifest = core.manifest.bind(core);
    core.manifest = () => ({ ...manifest(), extensions: manifest().extensions.filter((e) => e !== ASSIGNED) });
    const c = new Client({ transport: grpcTransport({ url: older.url }) });
    const [, standard] = pair();
    try {
      for (const [type, args, options] of calls("as-old", 7)) {
        const job = await c.enqueue(type, args, options);
        expect(withoutServerId(job), type).toEqual(withoutServerId(await standard.enqueue(type, args, options)));
      }
      expect(enqueues(older, "/ojsconnect.v1.FastPathService/EnqueueStream")).toBe(1);
    } finally {
      await c.close();
      await older.close();
    }
  });
});

describe("EnqueueStream at the byte level: what the server answers", () => {
  let server: OjsServer;
  let session: ClientHttp2Session;

  beforeAll(async () => {
    server = await startServer({ port: 0 });
    session = connect(server.url);
  });
  afterAll(async () => {
    session?.close();
    await server?.close();
  });

  /** One frame of calls on a new EnqueueStream, its one frame of outcomes. */
  function exchange(calls: NormalizedJobRequest[], asked: boolean): Promise<wire.EnqueueOutcome[]> {
    const stream = session.request({
      ":method": "POST",
      ":path": "/ojsconnect.v1.FastPathService/EnqueueStream",
      "content-type": "application/grpc",
      te: "trailers",
      ...(asked ? { [wire.ENQUEUE_ANSWER_HEADER]: "assigned" } : {}),
    });
    stream.write(frameMessage(wire.encodeEnqueueStreamRequest(calls.map((request, i) => ({ seq: i + 1, request })))));
    return new Promise((resolve, reject) => {
      let got = Buffer.alloc(0);
      stream.on("data", (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt32BE(1)) {
          resolve(wire.decodeEnqueueStreamResponse(got.subarray(5, 5 + got.readUInt32BE(1))));
          stream.close();
        }
      });
      stream.on("error", reject);
      stream.on("close", () => reject(new Error("the stream closed without an answer")));
    });
  }

  it("as assigned jobs only when the stream asked; a duplicate and an error as before", async () => {
    const unique = { keys: ["type" as const], onConflict: "ignore" as const };
    const call = (n: number): NormalizedJobRequest => ({ type: "raw.job", args: [{ n }], queue: "raw-q", meta: { m: n }, tags: ["t"] });
    const [asked, dupFirst, dup, bad] = await exchange(
      [call(1), { ...call(2), type: "raw.unique", unique }, { ...call(3), type: "raw.unique", unique }, { type: "raw.bad", args: [], priority: 1e6 }],
      true,
    );
    expect(asked!.fromRequest).toBe(wire.FROM_REQUEST_ALL);
    expect(asked!.job).toMatchObject({ type: "", queue: "", args: [], meta: {}, tags: [], state: "available" });
    expect(dupFirst!.fromRequest).toBe(wire.FROM_REQUEST_ALL);
    // The duplicate is the first job, whole, although type and queue are the call's.
    expect(dup!.fromRequest).toBeUndefined();
    expect(dup!.job).toMatchObject({ id: dupFirst!.job!.id, type: "raw.unique", queue: "raw-q", args: [{ n: 2 }], meta: { m: 2 }, tags: ["t"] });
    expect(bad!.error?.code).toBe("invalid_request");
    const [plain] = await exchange([call(4)], false);
    expect(plain!.fromRequest).toBeUndefined();
    expect(plain!.job).toMatchObject({ type: "raw.job", queue: "raw-q", args: [{ n: 4 }], meta: { m: 4 }, tags: ["t"] });
  });
});
