/** The HTTP adapter over a real socket: bad requests, SSE, request ids, and the extension routes. */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { openSse as openSseAt } from "../support/sse.js";

let server: OjsServer;
beforeAll(async () => {
  server = await startServer({ port: 0, maxBodyBytes: 1024 });
});
afterAll(async () => {
  await server.close();
});

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // Tests read arbitrary response JSON; a precise type here would only restate each assertion.
  json: any;
}

function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(server.url);
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && !("content-type" in h)) h["content-type"] = "application/openjobspec+json";
    const r = request({ hostname: u.hostname, port: u.port, path, method, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on("error", reject);
    r.end(body);
  });
}

const json = (method: string, path: string, body: unknown, headers?: Record<string, string>) => send(method, path, JSON.stringify(body), headers);

describe("bad requests get the standard error body, never a crash", () => {
  it("malformed JSON is 400 invalid_payload", async () => {
    const r = await send("POST", "/ojs/v1/jobs", "{not json");
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: "invalid_payload", retryable: false, message: expect.stringContaining("JSON") });
    expect(r.json.error.request_id).toBe(r.headers["x-request-id"]);
  });

  it("a body that is JSON but not an object is 400", async () => {
    expect((await send("POST", "/ojs/v1/jobs", "[1,2]")).status).toBe(400);
    expect((await send("POST", "/ojs/v1/workers/ack", "null")).status).toBe(400);
  });

  it("a wrong content type is 415", async () => {
    const r = await send("POST", "/ojs/v1/jobs", "type=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(415);
    expect(r.json.error.code).toBe("unsupported_media_type");
  });

  it("a body over the limit is 413, declared or streamed", async () => {
    const big = JSON.stringify({ type: "a.b", args: ["x".repeat(2000)] });
    const declared = await send("POST", "/ojs/v1/jobs", big);
    expect(declared.status).toBe(413);
    expect(declared.json.error.code).toBe("payload_too_large");
    const streamed = await send("POST", "/ojs/v1/jobs", big, { "transfer-encoding": "chunked" });
    expect(streamed.status).toBe(413);
  });

  it("an unknown route is 404 not_found; a known route with another method is 405", async () => {
    const r = await send("GET", "/ojs/v1/nothing-here");
    expect(r.status).toBe(404);
    expect(r.json.error).toMatchObject({ code: "not_found", hint: expect.any(String), docs_url: expect.any(String) });
    expect((await send("PATCH", "/ojs/v1/jobs")).status).toBe(405);
  });

  it("a malformed percent-encoding in the path is a 404, not an exception", async () => {
    expect((await send("GET", "/ojs/v1/jobs/%E0%A4%A")).status).toBe(404);
  });

  it("validation errors name the wire field; a bad retry policy is a 422 validation_error", async () => {
    const r = await json("POST", "/ojs/v1/jobs", { type: "a.b", args: [], options: { retry: { max_attempts: -1 } } });
    expect(r.status).toBe(422);
    expect(r.json.error).toMatchObject({ code: "validation_error", type: "validation_error", message: expect.stringContaining("max_attempts") });
    const env = await json("POST", "/ojs/v1/jobs", { type: "Bad Type", args: [] });
    expect(env.status).toBe(400);
    expect(env.json.error.details.validation_errors[0].path).toBe("type");
  });
});

describe("request ids and headers", () => {
  it("echoes X-Request-ID, or makes one up, on every response", async () => {
    const mine = await send("GET", "/health", undefined, { "x-request-id": "req-abc" });
    expect(mine.headers["x-request-id"]).toBe("req-abc");
    const made = await send("GET", "/ojs/v1/health");
    expect(made.headers["x-request-id"]).toMatch(/^req_/);
    expect(made.headers["ojs-version"]).toBe("1.0");
  });

  it("a created job answers 201 with a Location", async () => {
    const r = await json("POST", "/ojs/v1/jobs", { type: "a.b", args: [] });
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe(`/ojs/v1/jobs/${r.json.job.id}`);
  });

  it("manifest declares level 4, both protocols, the memory backend and its extensions", async () => {
    const m = (await send("GET", "/ojs/manifest")).json;
    expect(m).toMatchObject({ conformance_level: 4, protocols: ["http", "grpc"], backend: "memory" });
    expect(m.extensions).toEqual(expect.arrayContaining(["dead-letter", "schema-registry", "progress", "backpressure"]));
    expect(m.extensions).not.toContain("middleware");
  });

  it("/metrics is Prometheus text; /ready answers", async () => {
    const r = await send("GET", "/metrics");
    expect(r.headers["content-type"]).toBe("text/plain");
    expect(r.text).toMatch(/^ojs_jobs\{state="available"\} \d+$/m);
    expect((await send("GET", "/ready")).json).toEqual({ status: "ready" });
  });
});

describe("events", () => {
  const openSse = (path: string, headers: Record<string, string> = {}) => openSseAt(server.url, path, headers);
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it("streams lifecycle events as SSE frames, filtered, and resumes after Last-Event-ID", async () => {
    const sse = await openSse("/ojs/v1/events/stream?queues=ev-q&types=job.enqueued,job.cancelled");
    expect(sse.status).toBe(200);
    expect(sse.type).toBe("text/event-stream");
    const other = await json("POST", "/ojs/v1/jobs", { type: "a.b", args: [], options: { queue: "elsewhere" } });
    const job = (await json("POST", "/ojs/v1/jobs", { type: "a.b", args: [], options: { queue: "ev-q" } })).json.job;
    await json("DELETE", `/ojs/v1/jobs/${job.id}`, {});
    await settle();
    const text = sse.chunks.join("");
    sse.close();
    expect(text.startsWith(": connected")).toBe(true);
    const frames = text.split("\n\n").filter((f) => f.startsWith("id:"));
    expect(frames.map((f) => /event: (.+)/.exec(f)![1])).toEqual(["job.enqueued", "job.cancelled"]);
    const data = JSON.parse(/data: (.+)/.exec(frames[0]!)![1]!);
    expect(data).toMatchObject({ type: "job.enqueued", job_id: job.id, queue: "ev-q", data: { job_type: "a.b", queue: "ev-q" } });
    expect(text).not.toContain(other.json.job.id);
    const firstId = /id: (.+)/.exec(frames[0]!)![1]!;
    const resumed = await openSse(`/ojs/v1/jobs/${job.id}/events`, { "last-event-id": firstId });
    await settle();
    resumed.close();
    expect(resumed.chunks.join("")).toContain("event: job.cancelled");
  });

  it("GET /ojs/v1/events lists recent events, newest first", async () => {
    await json("POST", "/ojs/v1/jobs", { type: "l.a", args: [], options: { queue: "list-q" } });
    await json("POST", "/ojs/v1/jobs", { type: "l.b", args: [], options: { queue: "list-q" } });
    const r = await send("GET", "/ojs/v1/events?queues=list-q&types=job.enqueued&limit=10");
    expect(r.json.events.map((e: { data: { job_type: string } }) => e.data.job_type)).toEqual(["l.b", "l.a"]);
  });
});

describe("extension routes", () => {
  it("schemas: register (409 on a repeat), latest, by version, versions newest first, delete", async () => {
    const put = (v: number, schema: unknown) => json("PUT", `/ojs/v1/admin/schemas/s.t/${v}`, { schema });
    expect((await put(1, { type: "array", items: [{ type: "string" }] })).status).toBe(201);
    expect((await put(1, { type: "array" })).status).toBe(409);
    expect((await put(2, { type: "array", minItems: 1 })).status).toBe(201);
    expect((await send("GET", "/ojs/v1/admin/schemas/s.t")).json).toMatchObject({ type: "s.t", version: 2 });
    expect((await send("GET", "/ojs/v1/schemas/s.t/1")).json.schema.items[0].type).toBe("string");
    expect((await send("GET", "/ojs/v1/schemas/s.t/versions")).json.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await send("DELETE", "/ojs/v1/admin/schemas/s.t/2")).status).toBe(200);
    expect((await send("GET", "/ojs/v1/admin/schemas/s.t")).json.version).toBe(1);
    expect((await json("PUT", "/ojs/v1/admin/schemas/s.t/9", {})).status).toBe(400);
    expect((await send("DELETE", "/ojs/v1/admin/schemas/none/1")).status).toBe(404);
  });

  it("schema validation warns by default: the job is accepted with warnings", async () => {
    await json("PUT", "/ojs/v1/admin/schemas/w.t/1", { schema: { type: "array", items: [{ type: "string" }], minItems: 1 } });
    const r = await json("POST", "/ojs/v1/jobs", { type: "w.t", args: [42] });
    expect(r.status).toBe(201);
    expect(r.json.warnings[0].message).toContain("args[0]: must be string");
  });

  it("progress is clamped to [0, 1] and readable; null before any report", async () => {
    const id = (await json("POST", "/ojs/v1/jobs", { type: "p.t", args: [], options: { queue: "prog" } })).json.job.id;
    expect((await send("GET", `/ojs/v1/jobs/${id}/progress`)).json).toMatchObject({ job_id: id, progress: null });
    expect((await json("PUT", `/ojs/v1/jobs/${id}/progress`, { progress: 0.5 })).status).toBe(409);
    await json("POST", "/ojs/v1/workers/fetch", { queues: ["prog"] });
    expect((await json("PUT", `/ojs/v1/jobs/${id}/progress`, { progress: 1.7, message: "m" })).json).toMatchObject({ progress: 1, message: "m" });
  });

  it("an operator can quiet, terminate and resume a worker; the heartbeat carries it in state and directive", async () => {
    expect((await json("POST", "/ojs/v1/admin/workers/op-w/quiet", {})).status).toBe(200);
    expect((await json("POST", "/ojs/v1/workers/heartbeat", { worker_id: "op-w", active_jobs: [] })).json).toMatchObject({
      state: "quiet",
      directive: "quiet",
    });
    await json("POST", "/ojs/v1/admin/workers/op-w/resume", {});
    expect((await json("POST", "/ojs/v1/workers/heartbeat", { worker_id: "op-w" })).json.state).toBe("running");
    expect((await send("GET", "/ojs/v1/admin/workers")).json.items.map((w: { id: string }) => w.id)).toContain("op-w");
  });
});
