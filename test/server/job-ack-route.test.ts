/**
 * POST /ojs/v1/jobs/{id}/ack (ojs-results.md §10.1) over a real socket, and the
 * server keeping encoded args and codec meta exactly as given (encryption extension).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type OjsServer } from "../../src/server/index.js";

let server: OjsServer;
beforeAll(async () => {
  server = await startServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

// Tests read arbitrary response JSON; a precise type would only restate each assertion.
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(new URL(path, server.url), {
    method,
    headers: body === undefined ? {} : { "content-type": "application/openjobspec+json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const codecMeta = { ojs_encoded: true, "ojs.codec.encodings": ["gzip/plain", "binary/encrypted"], "ojs.codec.key_id": "k-1", other: { nested: [1, 2] } };

describe("POST /ojs/v1/jobs/{id}/ack", () => {
  it("completes an active job with its result, and the codec meta and args come back unchanged", async () => {
    const enq = await call("POST", "/ojs/v1/jobs", {
      type: "t.enc",
      args: [{ ojs_encoded: true, encoding: "binary/encrypted", data: "AQID" }],
      meta: codecMeta,
      options: { queue: "ack-route" },
    });
    expect(enq.status).toBe(201);
    const id = enq.json.job.id as string;
    const fetched = await call("POST", "/ojs/v1/workers/fetch", { queues: ["ack-route"], worker_id: "w1" });
    expect(fetched.json.jobs[0].meta).toEqual(codecMeta);
    const ack = await call("POST", `/ojs/v1/jobs/${id}/ack`, { worker_id: "w1", result: { ok: 1 } });
    expect(ack.status).toBe(200);
    expect(ack.json.job.state).toBe("completed");
    const got = await call("GET", `/ojs/v1/jobs/${id}`);
    expect(got.json.job.meta).toEqual(codecMeta);
    expect(got.json.job.args).toEqual([{ ojs_encoded: true, encoding: "binary/encrypted", data: "AQID" }]);
    expect(got.json.job.result).toEqual({ ok: 1 });
  });

  it("takes no body at all", async () => {
    const enq = await call("POST", "/ojs/v1/jobs", { type: "t.enc", args: [], options: { queue: "ack-route-2" } });
    await call("POST", "/ojs/v1/workers/fetch", { queues: ["ack-route-2"] });
    const ack = await call("POST", `/ojs/v1/jobs/${enq.json.job.id as string}/ack`);
    expect(ack.status).toBe(200);
    expect(ack.json.job.state).toBe("completed");
  });

  it("answers 404 for an unknown job, 409 for a job that is not active, 400 for a body that is not an object", async () => {
    expect((await call("POST", "/ojs/v1/jobs/00000000-0000-7000-8000-000000000000/ack", {})).status).toBe(404);
    const enq = await call("POST", "/ojs/v1/jobs", { type: "t.enc", args: [], options: { queue: "ack-route-3" } });
    const notActive = await call("POST", `/ojs/v1/jobs/${enq.json.job.id as string}/ack`, {});
    expect(notActive.status).toBe(409);
    expect((await call("POST", `/ojs/v1/jobs/${enq.json.job.id as string}/ack`, "[1]")).status).toBe(400);
  });

  it("the manifest claims the encryption extension", async () => {
    const m = await call("GET", "/ojs/manifest");
    expect(m.json.extensions).toEqual(expect.arrayContaining(["encryption"]));
  });
});
