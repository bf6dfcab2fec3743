/**
 * The gRPC adapter of the conformance runner reports what the server said and
 * nothing else: where the ojs.v1 answer cannot say what a step asserts, the
 * step is not applicable with a declared gap, never answered by the adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Step } from "../../conformance/lib/cases.js";
import { GrpcExecutor } from "../../conformance/lib/grpc-executor.js";
import { NotApplicable, type StepRequest } from "../../conformance/lib/interpreter.js";
import { touchesPaths } from "../../conformance/lib/jsonpath.js";
import { GRPC_CONTRACT_GAPS } from "../../conformance/lib/policy.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();
let ex: GrpcExecutor;
beforeAll(() => {
  ex = new GrpcExecutor(ctx.url);
});
afterAll(() => ex.close());

const req = (method: string, path: string, body?: JsonValue, assertions?: JsonObject): StepRequest => {
  const step: Step = { id: "s", action: method, path, ...(body !== undefined ? { body } : {}), ...(assertions ? { assertions } : {}) };
  return { method, path, headers: {}, body, step };
};

async function gapOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(NotApplicable);
    return (e as NotApplicable).gap;
  }
}

describe("gRPC conformance adapter", () => {
  it("an empty RPC answer gives no body; a step asserting one is not applicable, one asserting the status is not", async () => {
    const queue = uniqueQueue("pause");
    const paused = await ex.send(req("POST", `/ojs/v1/queues/${queue}/pause`, undefined, { status: 200 }));
    expect(paused).toMatchObject({ status: 200, body: undefined, text: "" });
    expect(await gapOf(ex.send(req("POST", `/ojs/v1/queues/${queue}/resume`, undefined, { status: 200, body: { "$.queue.paused": false } })))).toBe(
      "empty-response",
    );
  });

  it("a cron DELETE answers with the server's own entry, listed before UnregisterCron; an unknown name with its error", async () => {
    const name = `c-${uniqueQueue("cron")}`;
    const body = { name, expression: "0 0 * * *", job_template: { type: "cron.t", args: [] } };
    expect((await ex.send(req("POST", "/ojs/v1/cron", body, { status: 201 }))).status).toBe(201);
    const gone = await ex.send(req("DELETE", `/ojs/v1/cron/${name}`, undefined, { status: 200, body: { "$.cron.name": name } }));
    expect(gone).toMatchObject({ status: 200, body: { cron: { name, expression: "0 0 * * *" } } });
    const listed = await ex.send(req("GET", "/ojs/v1/cron", undefined, { status: 200 }));
    expect(JSON.stringify(listed.body)).not.toContain(name);
    const again = await ex.send(req("DELETE", `/ojs/v1/cron/${name}`, undefined, { status: 404 }));
    expect(again.status).toBe(404);
  });

  it("answer instants are written as the proto3 JSON mapping writes a Timestamp (whole seconds without .000)", async () => {
    const made = await ex.send(
      req("POST", "/ojs/v1/jobs", { type: "t.ts", args: [], options: { queue: uniqueQueue("ts"), expires_at: "2099-12-31T23:59:59Z" } }, { status: 201 }),
    );
    expect((made.body as { job: JsonObject }).job.expires_at).toBe("2099-12-31T23:59:59Z");
  });

  it("the workflow type is never echoed from the request", async () => {
    const def = { type: "chain", name: "c", steps: [{ type: "t.a", args: [] }] };
    const made = await ex.send(req("POST", "/ojs/v1/workflows", def, { status: 201 }));
    expect(made.status).toBe(201);
    expect((made.body as { workflow: JsonObject }).workflow.type).toBeUndefined();
    expect(await gapOf(ex.send(req("POST", "/ojs/v1/workflows", def, { body: { "$.workflow.type": "chain" } })))).toBe("no-workflow-type");
  });

  it("HTTP header assertions are not applicable, and an answer carries no made-up headers", async () => {
    const res = await ex.send(req("GET", "/ojs/v1/health", undefined, { status: 200 }));
    expect(res.headers).toEqual({});
    expect(await gapOf(ex.send(req("GET", "/ojs/v1/health", undefined, { headers: { "Content-Type": "application/json" } })))).toBe("http-headers");
  });

  it("ack reports the server's acknowledged, and heartbeat the state the server named", async () => {
    const queue = uniqueQueue("ack");
    const enq = await ex.send(req("POST", "/ojs/v1/jobs", { type: "t.x", args: [], options: { queue } }));
    const id = ((enq.body as JsonObject).job as JsonObject).id as string;
    await ex.send(req("POST", "/ojs/v1/workers/fetch", { queues: [queue], worker_id: "w1" }));
    const beat = await ex.send(req("POST", "/ojs/v1/workers/heartbeat", { worker_id: "w1", active_jobs: [id] }));
    expect(beat.body).toEqual({ jobs_extended: [id], state: "running", directive: "running" });
    const ack = await ex.send(req("POST", "/ojs/v1/workers/ack", { job_id: id }));
    expect(ack.body).toMatchObject({ acknowledged: true, state: "completed" });
  });

  it("every gap the adapter can name is declared with its reason", () => {
    for (const reason of Object.values(GRPC_CONTRACT_GAPS)) expect(reason.length).toBeGreaterThan(20);
  });

  it("touchesPaths: a path, what is inside or around it, $or alternatives, absent fields and raw text", () => {
    const paths = ["$.workflow.type"];
    expect(touchesPaths({ status: 201 }, paths)).toBe(false);
    expect(touchesPaths({ body: { "$.workflow.id": "any" } }, paths)).toBe(false);
    expect(touchesPaths({ body: { "$.workflow.type": "chain" } }, paths)).toBe(true);
    expect(touchesPaths({ body: { "$.workflow": { type: "chain" } } }, paths)).toBe(true);
    expect(touchesPaths({ body: { $or: [{ "$.x": 1 }, { "$.workflow.type": "group" }] } }, paths)).toBe(true);
    expect(touchesPaths({ body_absent: ["$.workflow.type"] }, paths)).toBe(true);
    expect(touchesPaths({ body_contains: ["chain"] }, paths)).toBe(true);
    expect(touchesPaths({ body: { "$.queue.name": "q" } }, ["$"])).toBe(true);
  });
});
