/**
 * Rules the spec states to the letter (issue 13): job ids a producer chooses are
 * lowercase UUIDv7, timestamps keep the form their author wrote, unparsable JSON
 * is invalid_payload. The client stays tolerant of servers that do not follow
 * them (it reads any id and any RFC 3339 form they send).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Client, ValidationError } from "../../src/index.js";
import { formatInstant, parseInstant } from "../../src/codec/values.js";
import { jobFromJson } from "../../src/codec/json.js";
import { normalizeJobRequest } from "../../src/model/schemas.js";
import { uuidv7, UUIDV7_RE } from "../../src/model/uuid.js";
import { TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();

async function post(path: string, body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(new URL(path, ctx.url), { method: "POST", headers: { "content-type": "application/openjobspec+json" }, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
async function get(path: string): Promise<any> {
  return (await fetch(new URL(path, ctx.url))).json();
}

const V4 = "550e8400-e29b-41d4-a716-446655440000";
const UPPER_V7 = "019461A8-1A2B-7C3D-8E4F-5A6B7C8D9E0F";

describe("job ids are lowercase UUIDv7", () => {
  it("the SDK's own ids always pass the rule its validation applies", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), (ms) => {
        const id = uuidv7(ms);
        expect(id).toMatch(UUIDV7_RE);
        expect(normalizeJobRequest({ type: "t.x", args: [], options: { id } }).id).toBe(id);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ["a UUIDv4", V4],
    ["upper-case hex", UPPER_V7],
    ["an empty string", ""],
  ])("the server refuses %s with validation_error naming the field", async (_what, id) => {
    const r = await post("/ojs/v1/jobs", JSON.stringify({ type: "email.send", args: [], id }));
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe("validation_error");
    expect(r.json.error.message).toMatch(/^id: .*UUIDv7/);
  });

  it("the server takes a lowercase UUIDv7 as given", async () => {
    const id = uuidv7();
    const r = await post("/ojs/v1/jobs", JSON.stringify({ type: "email.send", args: [], id }));
    expect(r.status).toBe(201);
    expect(r.json.job.id).toBe(id);
  });

  it.each(TRANSPORTS)("the Client over %s refuses a UUIDv4 before sending, naming the field", async (transport) => {
    const client = new Client({ url: ctx.url, transport });
    try {
      const err = await client.enqueue("email.send", [], { id: V4 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toContain("options.id");
    } finally {
      await client.close();
    }
  });

  it("the Client reads the ids of a server that does not follow the rule", () => {
    for (const id of [V4, UPPER_V7, "job-42"]) expect(jobFromJson({ id, type: "t", state: "active" }).id).toBe(id);
  });
});

describe("timestamps keep the form they were written in", () => {
  const forms = ["2099-06-01T11:00:00+02:00", "2099-06-01T09:00:00Z", "2099-06-01T09:00:00.123456Z", "2099-06-01T04:30:00-04:30"];

  it.each(forms)("scheduled_at %s comes back as sent, on enqueue and on GET", async (at) => {
    const queue = uniqueQueue("ts");
    const r = await post(
      "/ojs/v1/jobs",
      JSON.stringify({ type: "t.ts", args: [], options: { queue, delay_until: at, expires_at: at.replace("2099", "2100") } }),
    );
    expect(r.status).toBe(201);
    expect(r.json.job.scheduled_at).toBe(at);
    expect(r.json.job.expires_at).toBe(at.replace("2099", "2100"));
    expect(r.json.job.state).toBe("scheduled");
    const again = await get(`/ojs/v1/jobs/${r.json.job.id}`);
    expect(again.job.scheduled_at).toBe(at);
    // Times the server makes itself are UTC.
    expect(again.job.created_at).toMatch(/Z$/);
  });

  it.each(TRANSPORTS)("a Client over %s sends and reads back the instant it was given", async (transport) => {
    const client = new Client({ url: ctx.url, transport });
    try {
      const job = await client.enqueue("t.ts", [], { queue: uniqueQueue("ts"), scheduledAt: "2099-06-01T11:00:00+02:00" });
      expect(job.scheduledAt!.getTime()).toBe(Date.parse("2099-06-01T09:00:00Z"));
      // JSON carries the offset; a protobuf Timestamp has none (UTC only).
      if (transport === "http") expect(formatInstant(job.scheduledAt!)).toBe("2099-06-01T11:00:00+02:00");
    } finally {
      await client.close();
    }
  });

  it("a Date made by the program, or changed in place, is written in UTC", () => {
    expect(formatInstant(new Date(Date.UTC(2030, 0, 1)))).toBe("2030-01-01T00:00:00.000Z");
    const d = parseInstant("2030-01-01T02:00:00+02:00")!;
    expect(formatInstant(d)).toBe("2030-01-01T02:00:00+02:00");
    d.setTime(d.getTime() + 1000);
    expect(formatInstant(d)).toBe("2030-01-01T00:00:01.000Z");
  });

  it("property: any RFC 3339 text round-trips unchanged through the job codec", () => {
    const two = (n: number) => String(n).padStart(2, "0");
    const text = fc
      .record({
        ms: fc.integer({ min: 0, max: 4_000_000_000_000 }),
        frac: fc.constantFrom("", ".5", ".123", ".123456"),
        off: fc.integer({ min: -14 * 60, max: 14 * 60 }).map((m) => Math.round(m / 15) * 15),
      })
      .map(({ ms, frac, off }) => {
        const local = new Date(ms + off * 60_000);
        const base = `${local.getUTCFullYear()}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())}T${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`;
        const tz = off === 0 ? "Z" : `${off < 0 ? "-" : "+"}${two(Math.floor(Math.abs(off) / 60))}:${two(Math.abs(off) % 60)}`;
        return base + frac + tz;
      });
    fc.assert(
      fc.property(text, (t) => {
        const job = jobFromJson({ id: uuidv7(), type: "t", scheduled_at: t });
        expect(formatInstant(job.scheduledAt!)).toBe(t);
      }),
      { numRuns: 300 },
    );
  });
});

describe("unparsable JSON", () => {
  it("is 400 invalid_payload", async () => {
    const r = await post("/ojs/v1/jobs", "{ invalid json }");
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: "invalid_payload", retryable: false });
    expect(r.json.error.message).toMatch(/not valid JSON/);
  });
});
