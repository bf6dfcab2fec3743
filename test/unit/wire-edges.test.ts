/**
 * The hand-written codec (src/codec/wire) on the edges: the decisions it makes
 * where JSON and protobuf disagree (-0, NaN, U+FEFF, "__proto__", undefined),
 * extreme integers, big and deep messages, hand-made encodings other servers
 * may send, and malformed input. wire.test.ts has the property tests.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnqueueRequestSchema, JobSchema } from "../../gen/ojs/v1/job_pb.js";
import { jobFromProto, jobToProto, requestToProto } from "../../src/codec/proto.js";
import { durationFromMs, timestampFromDate } from "../../src/codec/values.js";
import * as wire from "../../src/codec/wire/index.js";
import { WireFormatError } from "../../src/codec/wire/index.js";
import type { Job } from "../../src/model/job.js";
import { CODEC_MAX_DEPTH } from "../../src/model/limits.js";
import type { JsonObject, JsonValue } from "../../src/model/json.js";

const base: Job = {
  id: "019539a4-0000-7000-8000-000000000001",
  type: "email.send",
  queue: "default",
  args: [],
  meta: {},
  state: "active",
  priority: 0,
  attempt: 1,
  errors: [],
  tags: [],
  specversion: "1.0",
};

const pbEncode = (j: Job): Uint8Array => toBinary(JobSchema, jobToProto(j));
const pbDecode = (b: Uint8Array): Job => jobFromProto(fromBinary(JobSchema, b));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

describe("wire codec edges: values JSON cannot say", () => {
  it("keeps -0 bit for bit, as protobuf-es does (JSON has no -0: the HTTP transport turns it into 0)", () => {
    const j = { ...base, args: [-0, 0, [-0], { z: -0 }], meta: { z: -0 }, result: -0 };
    const b = wire.encodeJob(j);
    expect(hex(b)).toBe(hex(pbEncode(j)));
    expect(hex(b)).toContain("110000000000000080"); // number_value with only the sign bit set
    const back = wire.decodeJob(b);
    expect(Object.is(back.args[0], -0)).toBe(true);
    expect(Object.is(back.args[1], 0)).toBe(true);
    expect(back).toEqual(j);
    expect(pbDecode(b)).toEqual(j);
    expect(JSON.parse(JSON.stringify(-0))).toBe(0);
  });

  it("keeps NaN and the infinities (doubles on the wire); JSON would make them null", () => {
    const j = { ...base, args: [NaN, Infinity, -Infinity, Number.MAX_VALUE, 5e-324] };
    const b = wire.encodeJob(j);
    expect(hex(b)).toBe(hex(pbEncode(j)));
    expect(wire.decodeJob(b)).toEqual(j);
  });

  it('keeps 0, false, "" and null everywhere, and tells an empty result or meta from an absent one', () => {
    const j: Job = { ...base, args: [0, false, "", null, [], {}], meta: { zero: 0, no: false, empty: "", nothing: null }, result: { a: 0 } };
    expect(wire.decodeJob(wire.encodeJob(j))).toEqual(j);
    for (const result of [0, false, "", null, [], {}, { $value: 1 }, { $value: { $value: null } }] as JsonValue[]) {
      const r = { ...base, result };
      expect(hex(wire.encodeJob(r))).toBe(hex(pbEncode(r)));
      expect(wire.decodeJob(wire.encodeJob(r))).toEqual(r);
    }
    expect("result" in wire.decodeJob(wire.encodeJob(base))).toBe(false);
    // meta {} goes out as an empty Struct (2a 00); a Job without the field reads as meta {}.
    expect(hex(wire.encodeJob(base))).toContain("2a00");
    expect(wire.decodeJob(bytes("0a0178")).meta).toEqual({});
    // On enqueue, an empty meta says nothing and is left out, as optionsFromProto has it.
    expect(wire.decodeEnqueueRequest(wire.encodeEnqueueRequest({ type: "t", args: [], meta: {} })).meta).toBeUndefined();
  });

  it("writes a non-JSON value (undefined, a function, a bigint) as a Value without kind, which reads back as null", () => {
    const meta = { u: undefined, f: () => 1, b: 1n } as unknown as JsonObject;
    const j = { ...base, meta };
    // Inside a Struct this is what protobuf-es writes too.
    expect(hex(wire.encodeJob(j))).toBe(hex(pbEncode(j)));
    expect(wire.decodeJob(wire.encodeJob(j)).meta).toEqual({ u: null, f: null, b: null });
    // protobuf-es (valueFromJson) throws on one in args; this codec writes null there too.
    const a = { ...base, args: [undefined] as unknown as JsonValue[] };
    expect(() => pbEncode(a)).toThrow();
    expect(wire.decodeJob(wire.encodeJob(a)).args).toEqual([null]);
  });

  it("keeps a key named __proto__ as an own key without touching the prototype (protobuf-es loses it)", () => {
    const evil = JSON.parse('{"__proto__": {"admin": true}, "b": 1}') as JsonObject;
    const j = { ...base, args: [evil], meta: evil, result: evil, errors: [{ code: "c", message: "m", retryable: false, details: evil }] };
    const back = wire.decodeJob(wire.encodeJob(j));
    for (const o of [back.args[0] as JsonObject, back.meta, back.result as JsonObject, back.errors[0]!.details!]) {
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(Object.keys(o)).toEqual(["__proto__", "b"]);
      expect((o as { admin?: boolean }).admin).toBeUndefined();
      expect(Object.getOwnPropertyDescriptor(o, "__proto__")?.value).toEqual({ admin: true });
    }
    const e = wire.decodeEnqueueStreamResponse(
      wire.encodeEnqueueStreamResponse([
        { seq: 1, error: { code: "c", message: "m", retryable: false, details: JSON.parse('{"__proto__": "x"}') as Record<string, string> } },
      ]),
    );
    expect(Object.getOwnPropertyDescriptor(e[0]!.error!.details!, "__proto__")?.value).toBe("x");
  });
});

describe("wire codec edges: text", () => {
  it("writes astral characters and lone surrogates as TextEncoder does (a lone surrogate becomes U+FFFD)", () => {
    const strings = ["𝄞", "a\ud83d\ude00b", "\ud800", "x\udc00y", "\udc00\ud800", "é".repeat(64), "𝄞".repeat(40), "\ud800".repeat(50)];
    const j = { ...base, args: strings, meta: Object.fromEntries(strings.map((s) => [s, s])) };
    const b = wire.encodeJob(j);
    expect(hex(b)).toBe(hex(pbEncode(j)));
    const back = wire.decodeJob(b);
    // String.prototype.toWellFormed, which lib ES2023 does not type yet.
    const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
    expect(back.args).toEqual(strings.map(wellFormed));
    expect(back).toEqual(pbDecode(b));
  });

  it("keeps a leading U+FEFF (protobuf-es's TextDecoder strips it from every string field)", () => {
    const j = { ...base, id: "\ufeffid", args: ["\ufeffx"], meta: { "\ufeffk": "\ufeffv" } };
    const b = wire.encodeJob(j);
    expect(hex(b)).toBe(hex(pbEncode(j)));
    expect(wire.decodeJob(b)).toEqual(j);
    expect(pbDecode(b).args).toEqual(["x"]);
  });

  it("puts the length prefix right whatever the UTF-8 size (guessed from the UTF-16 length, moved when wrong)", () => {
    for (const n of [0, 1, 23, 24, 42, 43, 63, 64, 65, 127, 128, 129, 8191, 8192, 16383, 16384, 16385, 700_000]) {
      for (const unit of ["a", "é", "€", "𝄞"]) {
        const s = unit.repeat(Math.ceil(n / unit.length));
        const j = { ...base, args: [s], type: s };
        const b = wire.encodeJob(j);
        expect(hex(b)).toBe(hex(pbEncode(j)));
        expect(wire.decodeJob(b).args[0]).toBe(s);
      }
    }
  });

  it("refuses invalid UTF-8 with a WireFormatError (protobuf-es refuses it too)", () => {
    for (const bad of ["ff", "c0af", "eda080", "f4908080", "e282", "61ff62"]) {
      const len = bad.length / 2;
      const b = bytes(`0a${len.toString(16).padStart(2, "0")}${bad}`); // Job.id
      expect(() => wire.decodeJob(b)).toThrow(WireFormatError);
      expect(() => pbDecode(b)).toThrow();
    }
    // U+FFFD itself is valid.
    expect(wire.decodeJob(bytes("0a03efbfbd")).id).toBe("\ufffd");
  });

  it("returns the right string when many short keys share the decoder's string cache", () => {
    const meta = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i.toString(36)}`, i]));
    const j = { ...base, meta };
    expect(wire.decodeJob(wire.encodeJob(j)).meta).toEqual(meta);
    expect(wire.decodeJob(wire.encodeJob(j)).meta).toEqual(meta);
  });
});

describe("wire codec edges: integers", () => {
  it("writes negative int32 as ten-byte varints and reads them back, also from five-byte encodings", () => {
    for (const priority of [-1, -100, -(2 ** 31), 2 ** 31 - 1, 127, 128]) {
      const j = { ...base, priority };
      const b = wire.encodeJob(j);
      expect(hex(b)).toBe(hex(pbEncode(j)));
      expect(wire.decodeJob(b).priority).toBe(priority);
    }
    expect(hex(wire.encodeJob({ ...base, priority: -1 }))).toContain("38ffffffffffffffffff01");
    // Some encoders write an int32 as its 32 bits: the same -1.
    expect(wire.decodeJob(bytes("38ffffffff0f")).priority).toBe(-1);
    expect(pbDecode(bytes("38ffffffff0f")).priority).toBe(-1);
  });

  it("writes int64 seconds over the whole range as protobuf-es does, and throws where it throws", () => {
    const secs = [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53, -(2 ** 53), 2 ** 62, -(2 ** 63), 2 ** 63 - 2 ** 10];
    for (const s of secs) {
      const ms = s * 1000 + 250;
      expect(hex(wire.encodeDuration(ms))).toBe(hex(toBinary(DurationSchema, durationFromMs(ms))));
    }
    for (const ms of [8.64e15, -8.64e15, -1, -1001, -(2 ** 32) * 1000]) {
      expect(hex(wire.encodeTimestamp(new Date(ms)))).toBe(hex(toBinary(TimestampSchema, timestampFromDate(new Date(ms)))));
    }
    for (const ms of [2 ** 63 * 1000, -(2 ** 64) * 1000, NaN, Infinity]) {
      expect(() => toBinary(DurationSchema, durationFromMs(ms))).toThrow();
      expect(() => wire.encodeDuration(ms)).toThrow();
    }
  });

  it("reads int64 beyond 2^53 rounded as Number(bigint) does, in Durations and Timestamps", () => {
    for (const seconds of [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 60n + 12345n]) {
      const b = toBinary(JobSchema, create(JobSchema, { timeout: { seconds, nanos: 999_999_999 }, createdAt: { seconds, nanos: -1 } }));
      const mine = wire.decodeJob(b);
      expect(mine.timeout).toBe(Number(seconds) * 1000 + 999.999999);
      expect(mine.createdAt!.getTime()).toBeNaN(); // beyond the Date range, as dateFromTimestamp makes it
      expect(pbDecode(b).timeout).toBe(mine.timeout);
    }
  });

  it("reads a bool from any varint, 64 bits wide", () => {
    // RetryPolicy.jitter = 2^32: zero in the low 32 bits, still true.
    expect(wire.decodeJob(bytes("5206 28 8080808010")).retry?.jitter).toBe(true);
    expect(pbDecode(bytes("5206 28 8080808010")).retry?.jitter).toBe(true);
  });
});

describe("wire codec edges: the meaning of the proto", () => {
  it("maps unknown enum numbers as proto.ts does", () => {
    // state 99 -> "available"; unique states [99, 2] -> ["available"]; on_conflict 9 -> absent.
    const b = bytes("3063 5a06 1809 22026302");
    const j = wire.decodeJob(b);
    expect(j.state).toBe("available");
    expect(j.unique).toEqual({ states: ["available"] });
    expect(j).toEqual(pbDecode(b));
    expect(wire.decodeNackResponse(new Uint8Array())).toEqual({ state: "retryable" });
    expect(wire.decodeJob(new Uint8Array())).toEqual(pbDecode(new Uint8Array()));
  });

  it("merges a Timestamp sent in two pieces, and a meta sent in two Structs", () => {
    const pieces = [
      create(JobSchema, { createdAt: { seconds: 5n } }),
      create(JobSchema, { createdAt: { nanos: 7_000_000 } }),
      create(JobSchema, { meta: { a: 1 } }),
      create(JobSchema, { meta: { b: true } }),
    ].map((m) => toBinary(JobSchema, m));
    const b = new Uint8Array(pieces.flatMap((x) => [...x]));
    const j = wire.decodeJob(b);
    expect(j.createdAt?.getTime()).toBe(5007);
    expect(j.meta).toEqual({ a: 1, b: true });
    expect(j).toEqual(pbDecode(b));
  });

  it("skips unknown fields of every wire type, groups included, at every level", () => {
    // Job: unknown varint 100, then id "x", unknown group 101 holding a varint and a nested group, unknown fixed32 102 / fixed64 103.
    const b = bytes("a00601  0a0178  ab06 0801 3b 1002 3c ac06  b50601020304  b9060102030405060708");
    expect(wire.decodeJob(b)).toEqual({ ...pbDecode(bytes("0a0178")) });
    // A field the decoder knows, with a wire type it does not expect, is skipped as unknown.
    expect(wire.decodeJob(bytes("0d01020304 0a0178")).id).toBe("x");
  });

  it("skips an unknown field inside a Struct's map entry (protobuf-es's map reader does not, and fails)", () => {
    // Struct { fields: entry { key "a", <unknown field 3 = 1>, value { bool_value: true } } }
    expect(wire.decodeStruct(bytes("0a09 0a0161 1801 12022001"))).toEqual({ a: true });
  });

  it("reads the gRPC transport's conventions for nacks: unset retryable is false on the wire", () => {
    const b = wire.encodeNackRequest({ jobId: "j", error: { code: "c", message: "m" } });
    expect(wire.decodeNackRequest(b)).toEqual({ jobId: "j", error: { code: "c", message: "m", retryable: false } });
  });

  it("tunnels expiry as both an absolute key and a relative ttl; a server that kept only the ttl still gets the instant", () => {
    const now = 1_800_000_000_000;
    const req = { type: "t", args: [], expiresAt: new Date(now + 5000) };
    expect(wire.decodeEnqueueRequest(wire.encodeEnqueueRequest(req, now), now + 1)).toEqual(req);
    const ttlOnly = toBinary(EnqueueRequestSchema, create(EnqueueRequestSchema, { type: "t", options: { ttl: { seconds: 5n } } }));
    expect(wire.decodeEnqueueRequest(ttlOnly, now).expiresAt?.getTime()).toBe(now + 5000);
    expect(hex(wire.encodeEnqueueRequest(req, now))).toBe(hex(toBinary(EnqueueRequestSchema, requestToProto(req, now))));
  });
});

describe("wire codec edges: size, depth, reuse", () => {
  function nest(depth: number, leaf: JsonValue, i = 0): JsonValue {
    let v = leaf;
    for (let d = 0; d < depth; d++) v = (d + i) % 2 ? [v, d] : { [`k${d}`]: v, n: d };
    return v;
  }

  it("writes nested messages of every length class, up to megabytes, exactly as protobuf-es", () => {
    for (const size of [100, 130, 16_400, 2_100_000]) {
      const j = { ...base, args: [nest(3, "x".repeat(size))], meta: { big: nest(2, "é".repeat(size >> 1)) } };
      const b = wire.encodeJob(j);
      expect(hex(b)).toBe(hex(pbEncode(j)));
      expect(wire.decodeJob(b)).toEqual(j);
    }
    // The writer shrinks back after a big message and stays correct.
    expect(hex(wire.encodeJob(base))).toBe(hex(pbEncode(base)));
  });

  it("handles deep nesting (300 levels: same as protobuf-es; up to CODEC_MAX_DEPTH: round trip)", () => {
    const j = { ...base, args: [nest(300, "leaf")] };
    const b = wire.encodeJob(j);
    expect(hex(b)).toBe(hex(pbEncode(j)));
    expect(wire.decodeJob(b)).toEqual(j);
    const deep = nest(CODEC_MAX_DEPTH - 1, 1);
    // Compared as text: toEqual's own recursion is not what is under test.
    expect(JSON.stringify(wire.decodeJob(wire.encodeJob({ ...base, args: [deep] })).args[0])).toBe(JSON.stringify(deep));
  });

  function v(n: number): number[] {
    const o: number[] = [];
    while (n > 0x7f) {
      o.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    o.push(n);
    return o;
  }

  it("refuses nesting past CODEC_MAX_DEPTH with a WireFormatError instead of overflowing the stack (issue 10: 3000 levels ended the server)", () => {
    for (const depth of [CODEC_MAX_DEPTH + 1, 3000, 100_000]) {
      expect(() => wire.encodeJob({ ...base, args: [nest(depth, 1)] })).toThrow(WireFormatError);
      // A ListValue nested `depth` deep, built by hand (no encoder would write it).
      const inner = [0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f];
      const headers: number[][] = [];
      let len = inner.length;
      for (let i = 0; i < depth; i++) {
        const listLen = 1 + v(len).length + len;
        const h = [0x32, ...v(listLen), 0x0a, ...v(len)];
        headers.push(h);
        len += h.length;
      }
      const bytes: number[] = [];
      for (let i = headers.length - 1; i >= 0; i--) for (const x of headers[i]!) bytes.push(x);
      bytes.push(...inner);
      expect(() => wire.decodeValue(Uint8Array.from(bytes))).toThrow(WireFormatError);
    }
    // And the codec goes on as before.
    const ok = { ...base, meta: { m: 1 } };
    expect(hex(wire.encodeJob(ok))).toBe(hex(pbEncode(ok)));
  });

  it("returns buffers the caller owns: a later encode does not change an earlier result", () => {
    const a = wire.encodeJob({ ...base, id: "a" });
    const copy = hex(a);
    wire.encodeJob({ ...base, id: "b", args: ["x".repeat(10_000)] });
    expect(hex(a)).toBe(copy);
  });

  it("a failed encode leaves nothing behind for the next one", () => {
    const bad: Job[] = [
      { ...base, unique: { states: ["bogus" as Job["state"]] } },
      { ...base, priority: 1.5 },
      { ...base, timeout: NaN },
      { ...base, createdAt: new Date(NaN) },
      { ...base, args: [{ deep: [1, "x".repeat(300)] }], errors: [{ code: "c", message: "m", attempt: 0.5 }] },
      { ...base, parentResults: { p: 1 }, retryDelayMs: 5, priority: 2 ** 31 },
    ];
    for (const j of bad) {
      expect(() => pbEncode(j)).toThrow();
      expect(() => wire.encodeJob(j)).toThrow();
      const ok = { ...base, meta: { m: 1 } };
      expect(hex(wire.encodeJob(ok))).toBe(hex(pbEncode(ok)));
    }
    for (const seq of [-1, 1.5, 2 ** 32]) expect(() => wire.encodeSettleStreamRequest([{ seq }])).toThrow();
  });

  it("writes an unknown state or conflict action as UNSPECIFIED, as the lookups in proto.ts do", () => {
    for (const j of [
      { ...base, state: "bogus" as Job["state"] },
      { ...base, unique: { onConflict: "bogus" as "reject" } },
    ]) {
      expect(hex(wire.encodeJob(j))).toBe(hex(pbEncode(j)));
    }
    expect(wire.decodeNackResponse(wire.encodeNackResponse({ state: "bogus" as Job["state"] }))).toEqual({ state: "retryable" });
  });
});

describe("wire codec edges: malformed input", () => {
  it("names what is wrong with a WireFormatError", () => {
    const cases = [
      "00", // field number 0
      "0e", // wire type 6
      "0f", // wire type 7
      "08ffffffffffffffffffff01", // varint of eleven bytes
      "0a05616263", // string longer than the input
      "5203 0805", // retry_policy whose length runs past the input
      "5202 1202 0801", // a Duration inside retry_policy that runs past retry_policy's end
      "0c", // end group without a start
      "0b 0801", // group never closed
      "0b 14", // group closed with another field's end tag
      "09 0102", // fixed64 cut short
    ];
    for (const c of cases) expect(() => wire.decodeJob(bytes(c)), c).toThrow(WireFormatError);
  });

  it("on any corruption of valid frames, either decodes or throws WireFormatError, never anything else", () => {
    const settle = wire.encodeSettleStreamRequest([
      { seq: 1, workerId: "w", ack: { jobId: "a", result: { ok: [1, "x"] } } },
      { seq: 2, nack: { jobId: "b", error: { code: "c", message: "m", retryable: true, occurredAt: new Date(9), details: { d: 1 } } } },
    ]);
    const enqueue = wire.encodeEnqueueStreamRequest([
      {
        seq: 1,
        request: { type: "t", args: [{ a: 1 }], meta: { m: "x" }, retry: { maxAttempts: 2, jitter: true, initialInterval: 5 }, expiresAt: new Date(1e12) },
      },
    ]);
    const corrupt = (good: Uint8Array, decode: (b: Uint8Array) => unknown) =>
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(good.length), (flips, cut) => {
        const b = good.slice(0, cut);
        for (const [i, v] of flips) if (i < b.length) b[i] = v;
        try {
          decode(b);
        } catch (e) {
          expect(e).toBeInstanceOf(WireFormatError);
        }
      });
    fc.assert(corrupt(settle, wire.decodeSettleStreamRequest), { numRuns: 800 });
    fc.assert(
      corrupt(enqueue, (b) => wire.decodeEnqueueStreamRequest(b)),
      { numRuns: 800 },
    );
  });

  it("on any corruption of a valid Job, either decodes or throws WireFormatError, never anything else", () => {
    const j: Job = {
      ...base,
      args: ["a", 1, { b: [true, null] }],
      meta: { m: "x" },
      retry: { maxAttempts: 3, jitter: true, initialInterval: 1000 },
      unique: { states: ["active"] },
      errors: [{ code: "c", message: "m", retryable: true, occurredAt: new Date(5) }],
      createdAt: new Date(7),
      tags: ["t"],
    };
    const good = wire.encodeJob(j);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(good.length), (flips, cut) => {
        const b = good.slice(0, cut);
        for (const [i, v] of flips) if (i < b.length) b[i] = v;
        try {
          wire.decodeJob(b);
        } catch (e) {
          expect(e).toBeInstanceOf(WireFormatError);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
