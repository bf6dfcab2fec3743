/**
 * The fast path's compact answer to EnqueueBatch (src/codec/wire/batch-answer.ts):
 * whatever the entries and whatever the server made of them, the Jobs read from
 * the compact answer (with the request it answers) equal the Jobs read from the
 * full ojs.v1 EnqueueBatchResponse of the same jobs; and the compact answer is
 * smaller whenever the jobs hold what their entries sent.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnqueueBatchAnswerSchema } from "../../gen/ojsconnect/v1/fastpath_pb.js";
import * as proto from "../../src/codec/proto.js";
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
  { weight: 1, arbitrary: fc.constantFrom("", "é", "𝄞", "\ud800", "a\udfffb", "\ufeffx", "__proto__") },
);
const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, NaN, Infinity, 2 ** 63));
const jsonValue = jsonValues(fc.oneof(fc.constant(null), fc.boolean(), num, text), text, 4);
// Reserved meta keys included: those the request decoder lifts into fields ("ojs.id"...), and those the
// Job decoder lifts ("ojs.parent_results"...), which the server must send in full.
const metaKey = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom("ojs.parent_results", "ojs.retry_delay_ms", "ojs.id", "ojs.backoff_strategy", "tenant_id") },
);

const entry: fc.Arbitrary<NormalizedJobRequest> = fc.record(
  {
    type: text,
    args: fc.array(jsonValue, { maxLength: 4 }),
    queue: text,
    meta: fc.dictionary(metaKey, jsonValue, { maxKeys: 4 }) as fc.Arbitrary<JsonObject>,
    tags: fc.array(text, { maxLength: 3 }),
    priority: fc.integer({ min: -100, max: 100 }),
  },
  { requiredKeys: ["type", "args"] },
);

/** What a server may do to a job after building it from its entry: nothing, or something the entry did not say. */
type Change = "none" | "tenant" | "new args" | "other type" | "parent results" | "retry delay" | "queue";
const change = fc.constantFrom<Change>("none", "none", "none", "tenant", "new args", "other type", "parent results", "retry delay", "queue");

/** The job the store builds from an entry as it decoded (the same objects), then changed. */
function serverJob(e: NormalizedJobRequest, i: number, c: Change): Job {
  const job = newJob(e, `019a0000-0000-7000-8000-${String(i).padStart(12, "0")}`, { maxAttempts: 3, shown: DEFAULT_SHOWN_RETRY }, NOW);
  if (c === "tenant") job.meta = { ...job.meta, tenant_id: "t1" };
  if (c === "new args") job.args = structuredClone(job.args);
  if (c === "other type") job.type = `${job.type}.x`;
  if (c === "parent results") job.parentResults = { step: [1] };
  if (c === "retry delay") job.retryDelayMs = 250;
  if (c === "queue") job.queue = "elsewhere";
  return job;
}

/** The compact answer and the full response of the same batch, each read back. */
function bothWays(entries: NormalizedJobRequest[], changes: Change[]) {
  // The server sees the entries as they decode, and builds its jobs from those objects.
  const request = wire.encodeEnqueueBatchRequest(entries, undefined, NOW);
  const decoded = wire.decodeEnqueueBatchRequest(request, NOW).jobs;
  const jobs = decoded.map((e, i) => serverJob(e, i, changes[i % changes.length]!));
  const compact = wire.encodeEnqueueBatchAnswer(jobs, decoded);
  const full = wire.encodeEnqueueBatchResponse(jobs);
  return { request, jobs, decoded, compact, full, expected: wire.decodeEnqueueBatchResponse(full).jobs };
}

describe("wire codec: EnqueueBatchAnswer (the fast path's compact answer to a batch)", () => {
  it("reads back, with the request it answers, to the very Jobs of the full response", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.array(change, { minLength: 1, maxLength: 5 }), (entries, changes) => {
        const { request, compact, expected } = bothWays(entries, changes);
        expect(wire.decodeEnqueueBatchAnswer(compact, request)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("leaves out what the jobs share with their entries, and nothing a server changed", () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), (entries) => {
        const { jobs, decoded, compact, full } = bothWays(entries, ["none"]);
        // type and args always, as the store keeps the entry's own objects.
        for (let i = 0; i < jobs.length; i++) expect(wire.sharedWithEntry(jobs[i]!, decoded[i]) & 0b101).toBe(0b101);
        // Smaller where what is left out outweighs the two bytes that say so: args, or a type of two
        // bytes or more (a one-byte type saves three and can lose one to a reserved meta key's encoding).
        if (entries.some((e) => e.args.length > 0 || Buffer.byteLength(e.type) > 1)) expect(compact.length).toBeLessThan(full.length);
        if (entries.every((e) => e.type !== "")) expect(compact.length).toBeLessThanOrEqual(full.length);
      }),
      { numRuns: 100 },
    );
    // Found by fast-check (seed -2103260803): a one-byte type and a reserved meta key, no args.
    const one = bothWays([{ type: " ", args: [], meta: { "ojs.parent_results": "" } }], ["none"]);
    expect(one.compact.length).toBeLessThanOrEqual(one.full.length);
    const [e] = wire.decodeEnqueueBatchRequest(
      wire.encodeEnqueueBatchRequest([{ type: "a.b", args: [{ x: 1 }], queue: "q", meta: { m: 1 } }], undefined, NOW),
      NOW,
    ).jobs;
    for (const c of ["tenant", "new args", "other type", "queue"] as const) {
      const bits = wire.sharedWithEntry(serverJob(e!, 0, c), e);
      const lost = { tenant: wire.FROM_REQUEST.meta, "new args": wire.FROM_REQUEST.args, "other type": wire.FROM_REQUEST.type, queue: wire.FROM_REQUEST.queue }[
        c
      ];
      expect(bits & lost).toBe(0);
    }
  });

  it("protobuf-es reads the answer, and the codec reads protobuf-es's bytes of it", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), fc.array(change, { minLength: 1, maxLength: 4 }), (entries, changes) => {
        // protobuf-es drops a string's leading U+FEFF and a "__proto__" key (src/codec/wire/index.ts): not this test's subject.
        fc.pre(!JSON.stringify(entries).includes("\ufeff") && !JSON.stringify(entries).includes('"__proto__"'));
        const { request, jobs, decoded, compact, expected } = bothWays(entries, changes);
        const pb = fromBinary(EnqueueBatchAnswerSchema, compact);
        expect(pb.jobs.map((a) => a.fromRequest)).toEqual(jobs.map((j, i) => wire.sharedWithEntry(j, decoded[i])));
        const theirs = toBinary(EnqueueBatchAnswerSchema, create(EnqueueBatchAnswerSchema, { jobs: pb.jobs }));
        expect(wire.decodeEnqueueBatchAnswer(theirs, request)).toEqual(expected);
        expect(pb.jobs.map((a) => proto.jobFromProto(a.job!).id)).toEqual(expected.map((j) => j.id));
      }),
      { numRuns: 80 },
    );
  });

  it("the Jobs are new objects: changing one changes nothing the caller sent", () => {
    const entries: NormalizedJobRequest[] = [{ type: "a.b", args: [{ deep: [1] }], queue: "q", meta: { m: { n: 1 } }, tags: ["t"] }];
    const { request, compact } = bothWays(entries, ["none"]);
    const [job] = wire.decodeEnqueueBatchAnswer(compact, request);
    expect(job!.args).toEqual(entries[0]!.args);
    expect(job!.args).not.toBe(entries[0]!.args);
    expect(job!.args[0]).not.toBe(entries[0]!.args[0]);
    expect(job!.meta).not.toBe(entries[0]!.meta);
    expect(job!.tags).not.toBe(entries[0]!.tags);
  });

  it("a field taken from an entry the request did not have is a format error, not a guess", () => {
    const { compact } = bothWays([{ type: "a.b", args: [1] }], ["none"]);
    expect(() => wire.decodeEnqueueBatchAnswer(compact, wire.encodeEnqueueBatchRequest([], undefined, NOW))).toThrow(wire.WireFormatError);
  });
});
