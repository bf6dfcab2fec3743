/** The HTTP binding's answers to mistakes: a hint that fits the route, Allow on 405, HEAD wherever GET is served. */
import { describe, expect, it } from "vitest";
import { useServer } from "../helpers.js";

const ctx = useServer({ logger: false });
const UNKNOWN = "01900000-0000-7000-8000-000000000000";

async function hintOf(path: string, init?: RequestInit): Promise<{ status: number; hint: string; code: string }> {
  const r = await fetch(ctx.url + path, init);
  const body = (await r.json()) as { error: { hint: string; code: string } };
  return { status: r.status, hint: body.error.hint, code: body.error.code };
}

describe("error hints fit the route", () => {
  it("an unknown route says so, instead of blaming an id", async () => {
    const r = await hintOf("/ojs/v1/jbos/123");
    expect(r).toMatchObject({ status: 404, code: "not_found" });
    expect(r.hint).toMatch(/No such endpoint/);
    expect(r.hint).not.toMatch(/Check the id/);
  });

  it("an unknown job, workflow, cron schedule or dead-letter entry each get their own hint", async () => {
    expect((await hintOf(`/ojs/v1/jobs/${UNKNOWN}`)).hint).toMatch(/finished jobs are kept only for a limited time/);
    expect((await hintOf(`/ojs/v1/workflows/${UNKNOWN}`)).hint).toMatch(/workflow id/);
    expect((await hintOf("/ojs/v1/cron/nope")).hint).toMatch(/schedule name/);
    expect((await hintOf(`/ojs/v1/dead-letter/${UNKNOWN}`, { method: "DELETE" })).hint).toMatch(/not in the dead-letter queue/);
  });

  it("a body that is not JSON is not told to fix a named field", async () => {
    const r = await hintOf("/ojs/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: '{"type": "a.b",' });
    expect(r.status).toBe(400);
    expect(r.hint).toMatch(/Send a valid JSON body/);
    expect(r.hint).not.toMatch(/named field/);
    // A real field mistake still says to fix the field.
    const f = await hintOf("/ojs/v1/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: '{"type": "BAD TYPE", "args": []}' });
    expect(f.hint).toMatch(/named field/);
  });
});

describe("405 and HEAD", () => {
  it("405 carries Allow with the route's methods (HEAD wherever GET)", async () => {
    const r = await fetch(`${ctx.url}/ojs/manifest`, { method: "DELETE" });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD");
    const j = await fetch(`${ctx.url}/ojs/v1/jobs/${UNKNOWN}`, { method: "PATCH" });
    expect(j.status).toBe(405);
    expect(j.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "HEAD"]);
    expect(((await j.json()) as { error: { hint: string } }).error.hint).toMatch(/Allow header/);
  });

  it.each(["/ojs/manifest", "/ojs/v1/health", "/health", "/metrics", "/ojs/v1/queues"])("HEAD %s: GET's status and headers, no body", async (path) => {
    const get = await fetch(ctx.url + path);
    const getBody = await get.text();
    const head = await fetch(ctx.url + path, { method: "HEAD" });
    expect(head.status).toBe(get.status);
    expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
    // Same body length announced (/metrics and /health bodies hold live numbers, so only for the others).
    if (!["/metrics", "/health", "/ojs/v1/health"].includes(path)) expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(getBody)));
    expect(await head.text()).toBe("");
  });

  it("HEAD of an unknown job is 404, of an event stream 200 without opening the stream", async () => {
    const missing = await fetch(`${ctx.url}/ojs/v1/jobs/${UNKNOWN}`, { method: "HEAD" });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("");
    const events = await fetch(`${ctx.url}/ojs/v1/events/stream`, { method: "HEAD", signal: AbortSignal.timeout(5000) });
    expect(events.status).toBe(200);
    expect(events.headers.get("content-type")).toMatch(/text\/event-stream/);
    expect(await events.text()).toBe("");
  });
});
