/**
 * The fast path's AssignedJob answer to an EnqueueStream call (src/codec/wire/assigned.ts,
 * fastpath.ts): whatever the request and whatever the server made of it, the Job read from the
 * assigned answer and completed from the client's own request (sentEntry, no bytes) equals the
 * Job read from the full answer of the same job; sentEntry makes exactly what the server's
 * decoder makes of the request; and the answer is smaller whenever the job holds what the
 * request sent.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnqueueStreamResponseSchema } from "../../gen/ojsconnect/v1/fastpath_pb.js";
import * as wire from "../../src/codec/wire/index.js";
import type { Job, NormalizedJobRequest } from "../../src/model/job.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";
import { newJob } from "../../src/server/store/policies.js";
import { DEFAULT_SHOWN_RETRY } from "../../src/server/store/records.js";
import { jsonValues } from "../support/json-arbitrary.js";

const NOW = 1_790_000_000_000;

// Strings of every kind, lone surrogates among them (UTF-8 turns those into U+FFFD).
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 10 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "é", "𝄞", "\ud800", "a\udfffb", "b\ud800", "\ufeffx", "__proto__", "0", "17") },
);
const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 63));
// What a caller may put in args or meta that JSON has no word for: the codec sends it as a Value without a kind (null).
const nonJson = fc.constantFrom(undefined, () => 1, 10n, Symbol("s")) as unknown as fc.Arbitrary<JsonValue>;
const jsonValue = jsonValues(
  fc.oneof({ weight: 8, arbitrary: fc.oneof(fc.constant(null), fc.boolean(), num, text) }, { weight: 1, arbitrary: nonJson }),
  text,
  4,
);
// Reserved meta keys included: those the request decoder lifts into fields ("ojs.id"...), and those the
// Job decoder lifts ("ojs.parent_results"...), which the server must send in full.
const metaKey = fc.oneof(
  { weight: 6, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc.constantFrom("ojs.parent_results", "ojs.retry_delay_ms", "ojs.id", "ojs.schema", "ojs.backoff_strategy", "ojs.other", "tenant_id"),
  },
);

const request: fc.Arbitrary<NormalizedJobRequest> = fc.record(
  {
    type: text,
    args: fc.array(jsonValue, { maxLength: 4 }),
    queue: text,
    meta: fc.dictionary(metaKey, jsonValue, { maxKeys: 4 }) as fc.Arbitrary<JsonObject>,
    tags: fc.array(text, { maxLength: 3 }),
    priority: fc.integer({ min: -100, max: 100 }),
    scheduledAt: fc.constantFrom(new Date(NOW - 1_000), new Date(NOW + 60_000)),
    timeout: fc.integer({ min: 1, max: 100_000 }),
    retry: fc.constantFrom({ maxAttempts: 5 }, { maxAttempts: 2, backoffStrategy: "linear" as const }),
    unique: fc.constantFrom({ keys: ["type" as const], onConflict: "reject" as const }),
    id: fc.constantFrom("019a0000-0000-7000-8000-00000000abcd"),
    expiresAt: fc.constantFrom(new Date(NOW + 90_000)),
  },
  { requiredKeys: ["type", "args"] },
);

/** What a server may do to a job after building it from its request: nothing, or something the request did not say. */
type Change = "none" | "tenant" | "new args" | "other type" | "queue" | "new tags" | "parent results" | "retry delay" | "existing";
const change = fc.constantFrom<Change>(
  "none",
  "none",
  "none",
  "tenant",
  "new args",
  "other type",
  "queue",
  "new tags",
  "parent results",
  "retry delay",
  "existing",
);

/** The job the store builds from a request as it decoded (the same objects), then changed. */
function serverJob(e: NormalizedJobRequest, c: Change): Job {
  const job = newJob(e, e.id ?? "019a0000-0000-7000-8000-000000000001", { maxAttempts: 3, shown: DEFAULT_SHOWN_RETRY }, NOW);
  if (c === "tenant") job.meta = { ...job.meta, tenant_id: "t1" };
  if (c === "new args") job.args = structuredClone(job.args);
  if (c === "other type") job.type = `${job.type}.x`;
  if (c === "queue") job.queue = "elsewhere";
  if (c === "new tags") job.tags = [...job.tags, "added"];
  if (c === "parent results") job.parentResults = { step: [1] };
  if (c === "retry delay") job.retryDelayMs = 250;
  return job;
}

/** The request as the client sends it, the server's job of it, and that job's answer both ways. */
function bothWays(req: NormalizedJobRequest, c: Change) {
  const frame = wire.encodeEnqueueStreamRequest([{ seq: 7, request: req }], NOW);
  const decoded = wire.decodeEnqueueStreamRequest(frame, NOW)[0]!.request!;
  const job = serverJob(decoded, c);
  // A unique policy's duplicate ("existing") is answered without the request: the server passes no entry.
  const assigned = wire.encodeEnqueueStreamResponse([{ seq: 7, job, entry: c === "existing" ? undefined : decoded }]);
  const full = wire.encodeEnqueueStreamResponse([{ seq: 7, job }]);
  return { decoded, job, assigned, full, expected: wire.decodeEnqueueStreamResponse(full)[0]!.job! };
}

/** What the client makes of an answer: the Job, completed from its own request if the answer was assigned. */
function clientJob(answer: Uint8Array, req: NormalizedJobRequest): Job {
  const [o] = wire.decodeEnqueueStreamResponse(answer);
  expect(o!.seq).toBe(7);
  if (o!.fromRequest) wire.fillFromEntry(o!.job!, o!.fromRequest, wire.sentEntry(req));
  return o!.job!;
}

const ENTRY_FIELDS = ["type", "queue", "args", "meta", "tags"] as const;
const entryPart = (r: NormalizedJobRequest) => Object.fromEntries(ENTRY_FIELDS.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));

describe("wire codec: an enqueue call answered as an AssignedJob", () => {
  it("sentEntry makes, without the bytes, what the server decodes of the request", () => {
    fc.assert(
      fc.property(request, (req) => {
        const decoded = wire.decodeEnqueueStreamRequest(wire.encodeEnqueueStreamRequest([{ seq: 1, request: req }], NOW), NOW)[0]!.request!;
        expect(wire.sentEntry(req)).toStrictEqual(entryPart(decoded));
      }),
      { numRuns: 500 },
    );
    // The cases the property relies on, spelled out.
    const odd = { type: "a\ud800", args: [{ "k\udc00": "v\ud800", __proto__x: -0, u: undefined }, [undefined, NaN], "\ud800"], queue: "q\ud800" };
    const req = { ...odd, meta: { "ojs.id": "x", "ojs.other": 1, "m\ud800": 2, "m\udfff": 3 }, tags: ["\ud800", ""] } as unknown as NormalizedJobRequest;
    const decoded = wire.decodeEnqueueStreamRequest(wire.encodeEnqueueStreamRequest([{ seq: 1, request: req }], NOW), NOW)[0]!.request!;
    expect(wire.sentEntry(req)).toStrictEqual(entryPart(decoded));
    expect(wire.sentEntry(req).meta).toStrictEqual({ "ojs.other": 1, "m\ufffd": 3 });
  });

  it("reads back, with the request it answers, to the very Job of the full answer", () => {
    fc.assert(
      fc.property(request, change, (req, c) => {
        const { assigned, expected } = bothWays(req, c);
        expect(clientJob(assigned, req)).toStrictEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("leaves out what the job shares with its request, and nothing a server changed or a duplicate holds", () => {
    fc.assert(
      fc.property(request, (req) => {
        const { decoded, job, assigned, full } = bothWays(req, "none");
        // type and args always, as the store keeps the request's own objects.
        expect(wire.sharedWithEntry(job, decoded) & 0b101).toBe(0b101);
        expect(wire.decodeEnqueueStreamResponse(assigned)[0]!.fromRequest).toBe(wire.sharedWithEntry(job, decoded));
        // Shorter whenever what it leaves out outweighs what it adds. Left out: the type's field (2 + its bytes,
        // none when empty) and 4 bytes or more per element of args. Added: the AssignedJob around the Job (a tag
        // and a length of 1-2 bytes), the bits (2 bytes), and the outer length may take one byte more: 6 at most.
        // (A 3-byte type alone, or one empty element of args with an empty type, can come out level.)
        const typeField = req.type === "" ? 0 : 2 + Buffer.byteLength(req.type);
        if (typeField + 4 * req.args.length > 6) expect(assigned.length).toBeLessThan(full.length);
      }),
      { numRuns: 200 },
    );
    const req: NormalizedJobRequest = { type: "a.b", args: [{ x: 1 }], queue: "q", meta: { m: 1 }, tags: ["t"] };
    const lost: Record<Exclude<Change, "none" | "parent results" | "retry delay">, number> = {
      tenant: wire.FROM_REQUEST.meta,
      "new args": wire.FROM_REQUEST.args,
      "other type": wire.FROM_REQUEST.type,
      queue: wire.FROM_REQUEST.queue,
      "new tags": wire.FROM_REQUEST.tags,
      existing: wire.FROM_REQUEST_ALL,
    };
    for (const [c, bits] of Object.entries(lost)) {
      const { assigned } = bothWays(req, c as Change);
      expect((wire.decodeEnqueueStreamResponse(assigned)[0]!.fromRequest ?? 0) & bits, c).toBe(0);
    }
    // A duplicate comes as `job`, in full: no bit at all.
    expect(wire.decodeEnqueueStreamResponse(bothWays(req, "existing").assigned)[0]).not.toHaveProperty("fromRequest");
    // The bench's call: the answer is the job less its type, queue, args and meta.
    const bench: NormalizedJobRequest = { type: "bench.noop", args: [{ i: 1, email: "user-1@example.com", plan: "pro", amount: 42.5 }], queue: "seq" };
    const b = bothWays(bench, "none");
    expect(wire.decodeEnqueueStreamResponse(b.assigned)[0]!.fromRequest).toBe(0b1111);
    expect(b.assigned.length).toBeLessThan(b.full.length - 70);
  });

  it("protobuf-es reads the answer, and the codec reads protobuf-es's bytes of it", () => {
    fc.assert(
      fc.property(request, change, (req, c) => {
        // protobuf-es drops a string's leading U+FEFF and a "__proto__" key (src/codec/wire/index.ts): not this test's subject.
        // Every key kept, even one whose value JSON has no word for (undefined, a function): the codec sends those too.
        const s = JSON.stringify(req, (_, v: unknown) =>
          typeof v === "bigint" ? String(v) : v === undefined || typeof v === "function" || typeof v === "symbol" ? null : v,
        );
        fc.pre(!s.includes("\ufeff") && !s.includes('"__proto__"'));
        const { assigned, expected, job, decoded } = bothWays(req, c);
        const pb = fromBinary(EnqueueStreamResponseSchema, assigned);
        const result = pb.outcomes[0]!.result;
        const bits = c === "existing" ? 0 : wire.sharedWithEntry(job, decoded);
        expect(result.case).toBe(bits ? "assigned" : "job");
        if (result.case === "assigned") expect(result.value.fromRequest).toBe(bits);
        const theirs = toBinary(EnqueueStreamResponseSchema, create(EnqueueStreamResponseSchema, { outcomes: pb.outcomes }));
        expect(clientJob(theirs, req)).toStrictEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it("the Job is new objects: changing it changes nothing the caller sent", () => {
    const req: NormalizedJobRequest = { type: "a.b", args: [{ deep: [1] }], queue: "q", meta: { m: { n: 1 } }, tags: ["t"] };
    const job = clientJob(bothWays(req, "none").assigned, req);
    expect(job.args).toEqual(req.args);
    expect(job.args).not.toBe(req.args);
    expect(job.args[0]).not.toBe(req.args[0]);
    expect(job.meta).toEqual(req.meta);
    expect(job.meta).not.toBe(req.meta);
    expect(job.tags).not.toBe(req.tags);
  });

  it("an answer that takes fields from anywhere but its request is a format error", () => {
    const { assigned } = bothWays({ type: "a.b", args: [1] }, "none");
    const pb = fromBinary(EnqueueStreamResponseSchema, assigned);
    const result = pb.outcomes[0]!.result;
    if (result.case !== "assigned") throw new Error("expected an assigned answer");
    result.value.fromRequest |= wire.FROM_PREVIOUS;
    expect(() => wire.decodeEnqueueStreamResponse(toBinary(EnqueueStreamResponseSchema, pb))).toThrow(wire.WireFormatError);
  });
});
