/**
 * What the fuzz tests (test/server/fuzz-*.test.ts) and the long fuzz run
 * (scripts/fuzz.ts) send: every HTTP route and every gRPC method, taken from
 * the router's table and the generated service descriptors, so a new route or
 * method is fuzzed without anyone listing it; and the inputs, from arbitrary
 * bytes to well-formed messages with hostile values (deep nesting, huge
 * numbers, odd strings, wrong types).
 */
import fc from "fast-check";
import { create, toBinary } from "@bufbuild/protobuf";
import type { ClientHttp2Session } from "node:http2";
import { request } from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ServerCore } from "../../src/server/core.js";
import { httpRoutes } from "../../src/server/http/routes.js";
import { HttpRouter } from "../../src/server/http/router.js";
import { frame, grpcCall, grpcMethods, type GrpcMethodInfo } from "./wire-calls.js";

export interface RouteInfo {
  method: string;
  /** "/ojs/v1/jobs/:id" */
  pattern: string;
}

/** Every route of the HTTP binding, read from a router built the way the server builds it. */
export function httpRouteTable(): RouteInfo[] {
  const core = new ServerCore();
  try {
    const router = httpRoutes(core, new HttpRouter());
    // The table is private to the router; reading it here keeps the router's API as it is.
    const routes = (router as unknown as { routes: Array<{ method: string; parts: string[] }> }).routes;
    return routes.map((r) => ({ method: r.method, pattern: `/${r.parts.join("/")}` }));
  } finally {
    core.close();
  }
}

// --- JSON values ---------------------------------------------------------------------

/** `depth` levels of arrays or objects around a scalar, built without recursion. */
export function deepJson(depth: number, kind: "array" | "object" = "array"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === "array" ? [v] : { k: v };
  return v;
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", "__proto__", "constructor", "\u0000", "\ud800", "../../etc", "%", "%zz", "a".repeat(300), "019539a4-0000-7000-8000-000000000000"),
);
const hostileNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 2 ** 53, 1e308, -1e308, 0.5));
const scalar = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));

/** Any JSON, some of it nested past the default depth limit. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.integer({ min: 60, max: 3000 }).map((d) => deepJson(d, d % 2 ? "array" : "object")) },
  { weight: 2, arbitrary: scalar },
);

/** A job-shaped object with hostile values in the known fields. */
const jobLike = fc.record(
  {
    type: fc.oneof(hostileString, fc.constant("fuzz.job"), anyJson),
    args: fc.oneof(fc.array(anyJson, { maxLength: 4 }), anyJson),
    queue: fc.oneof(hostileString, fc.constant("fuzz"), anyJson),
    meta: anyJson,
    priority: fc.oneof(hostileNumber, anyJson),
    id: hostileString,
    options: fc.dictionary(fc.constantFrom("retry", "unique", "delay_ms", "timeout_ms", "rate_limit", "tags", "expires_at"), anyJson),
  },
  { requiredKeys: [] },
);

/** A body for any route: JSON objects shaped like the binding's requests, or anything else. */
export const httpBody: fc.Arbitrary<{ body: Buffer | undefined; contentType: string | undefined }> = fc.record({
  body: fc.oneof(
    { weight: 4, arbitrary: fc.record({ jobs: fc.array(jobLike, { maxLength: 3 }) }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify({ ...o }))) },
    { weight: 4, arbitrary: jobLike.map((o) => Buffer.from(JSON.stringify(o))) },
    {
      weight: 3,
      arbitrary: fc
        .dictionary(
          fc.constantFrom(
            "job_id",
            "worker_id",
            "queues",
            "count",
            "result",
            "error",
            "steps",
            "name",
            "cron",
            "expression",
            "state",
            "progress",
            "data",
            "wait_ms",
            "max_depth",
            "schema",
          ),
          anyJson,
        )
        .map((o) => Buffer.from(JSON.stringify(o))),
    },
    { weight: 2, arbitrary: anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? "null")) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  contentType: fc.constantFrom(undefined, "application/json", "application/openjobspec+json", "text/plain", "application/x-www-form-urlencoded"),
});

/** encodeURIComponent, with lone surrogates (which it refuses) made U+FFFD first. */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));
}

const pathParam = fc.oneof(hostileString, fc.constantFrom("default", "fuzz", "019539a4-0000-7000-8000-000000000000"));

/** A concrete path for a route pattern, its parameters filled with hostile values. */
export function pathFor(pattern: string): fc.Arbitrary<string> {
  const parts = pattern.split("/").filter(Boolean);
  return fc
    .tuple(...parts.map((p) => (p.startsWith(":") ? pathParam.map(encodeSegment) : fc.constant(p))))
    .chain((segs) =>
      fc.constantFrom("", "?limit=-1", "?limit=abc&queue=%", "?cursor=zz&offset=1e9", "?types=a,b&last_event_id=x").map((q) => `/${segs.join("/")}${q}`),
    );
}

/** Paths no route has: slashes doubled, dots, odd bytes. */
export const strayPath: fc.Arbitrary<string> = fc.oneof(
  fc.webPath().map((p) => (p.startsWith("/") ? p : `/${p}`)),
  fc.constantFrom("//", "//ojs/v1/health", "//x:99999/a", "/ojs//v1/jobs", "/%2e%2e/%2e%2e", "/ojs/v1/jobs/%", "/ojs/v1/../v1/health"),
  hostileString.map((s) => `/${encodeSegment(s)}`),
);

export interface HttpOutcome {
  status: number;
  /** The first bytes of the body (streams are cut after a moment). */
  text: string;
}

/** Sends one request; resolves with the status once the body ended or `streamMs` passed (SSE never ends). */
export function httpSend(
  base: string,
  method: string,
  path: string,
  body: Buffer | undefined,
  contentType: string | undefined,
  streamMs = 200,
): Promise<HttpOutcome> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const headers: Record<string, string> = {};
    if (contentType) headers["content-type"] = contentType;
    const r = request({ hostname: u.hostname, port: u.port, path, method, headers, timeout: 35_000 }, (res) => {
      let text = "";
      const cut = setTimeout(() => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, text });
      }, streamMs);
      res.on("data", (c: Buffer) => {
        if (text.length < 2000) text += c.toString("utf8");
      });
      res.on("end", () => {
        clearTimeout(cut);
        resolve({ status: res.statusCode ?? 0, text });
      });
      res.on("error", () => undefined);
    });
    r.on("timeout", () => r.destroy(new Error(`${method} ${path}: no answer`)));
    r.on("error", reject);
    r.end(body);
  });
}

// --- protobuf -----------------------------------------------------------------------------

function varint(v: number): number[] {
  const out: number[] = [];
  let x = v >>> 0;
  while (x > 0x7f) {
    out.push((x & 0x7f) | 0x80);
    x >>>= 7;
  }
  out.push(x);
  return out;
}

/** Wire-level protobuf: fields with any number and wire type, lengths that lie now and then, nesting. */
const wireField: fc.Arbitrary<number[]> = fc.letrec<{ field: number[]; message: number[] }>((tie) => ({
  field: fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.nat()).map(([f, v]) => [...varint((f << 3) | 0), ...varint(v)]),
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([f, b]) => [...varint((f << 3) | 1), ...b]),
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.uint8Array({ maxLength: 30 })).map(([f, b]) => [...varint((f << 3) | 2), ...varint(b.length), ...b]),
    fc.tuple(fc.integer({ min: 1, max: 40 }), tie("message")).map(([f, m]) => [...varint((f << 3) | 2), ...varint(m.length), ...m]),
    fc
      .tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 50 }), fc.uint8Array({ maxLength: 10 }))
      .map(([f, lie, b]) => [...varint((f << 3) | 2), ...varint(b.length + lie), ...b]),
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 3, max: 7 })).map(([f, wt]) => [...varint((f << 3) | wt)]),
  ),
  message: fc.array(tie("field"), { maxLength: 4 }).map((fs) => fs.flat()),
})).field;

/** A google.protobuf.Value nested `depth` lists deep, as bytes: headers worked out inside out, in linear time. */
function deepValueBytes(depth: number): number[] {
  const inner = [0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]; // number_value 1.0
  const headers: number[][] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    const listLen = 1 + varint(len).length + len; // ListValue.values (tag 1) around the Value
    const h = [0x32, ...varint(listLen), 0x0a, ...varint(len)]; // Value.list_value, then the list's one value
    headers.push(h);
    len = h.length + len;
  }
  const out: number[] = [];
  for (let i = headers.length - 1; i >= 0; i--) for (const b of headers[i]!) out.push(b);
  for (const b of inner) out.push(b);
  return out;
}

/**
 * A request message for `m`: a valid message with hostile values, a valid one
 * with deep Values spliced into every field that could hold one, or wire-level
 * garbage.
 */
export function grpcMessage(m: GrpcMethodInfo): fc.Arbitrary<Uint8Array> {
  const valid = fc
    .record({
      s: hostileString,
      n: fc.integer(),
      big: fc.constantFrom(0n, -1n, 2n ** 53n, 9_000_000_000_000_000n, -9_000_000_000_000_000n, 253_402_300_800n),
      deep: fc.integer({ min: 50, max: 4000 }),
    })
    .map(({ s, n, big, deep }) => {
      const init: Record<string, unknown> = {};
      for (const f of m.input.fields) {
        if (f.fieldKind === "scalar") {
          if (f.scalar === 9)
            init[f.localName] = s; // string
          else if (f.scalar === 5 || f.scalar === 13)
            init[f.localName] = n | 0; // int32/uint32
          else if (f.scalar === 3 || f.scalar === 4)
            init[f.localName] = f.scalar === 4 && big < 0n ? -big : big; // int64/uint64
          else if (f.scalar === 1) init[f.localName] = n * 1e300; // double
        } else if (f.fieldKind === "enum") init[f.localName] = n & 0x7fffffff;
        else if (f.fieldKind === "list" && f.listKind === "scalar" && f.scalar === 9) init[f.localName] = [s];
        else if (f.fieldKind === "message" && (f.message.typeName === "google.protobuf.Timestamp" || f.message.typeName === "google.protobuf.Duration"))
          init[f.localName] = { seconds: big, nanos: n | 0 };
        else if (f.fieldKind === "message" && f.message.fields.length > 0 && !f.message.typeName.startsWith("google.")) {
          // One level down: the nested message's timestamps, numbers and strings too.
          const sub: Record<string, unknown> = {};
          for (const g of f.message.fields) {
            if (g.fieldKind === "scalar" && g.scalar === 9) sub[g.localName] = s;
            else if (g.fieldKind === "scalar" && (g.scalar === 5 || g.scalar === 13)) sub[g.localName] = n | 0;
            else if (g.fieldKind === "scalar" && (g.scalar === 3 || g.scalar === 4)) sub[g.localName] = g.scalar === 4 && big < 0n ? -big : big;
            else if (g.fieldKind === "message" && (g.message.typeName === "google.protobuf.Timestamp" || g.message.typeName === "google.protobuf.Duration"))
              sub[g.localName] = { seconds: big, nanos: n | 0 };
          }
          init[f.localName] = sub;
        }
      }
      const base = Array.from(toBinary(m.input, create(m.input, init)));
      // Splice a deep Value under every message-typed field number: whatever the field is, it must not hurt.
      const deepFields = m.input.fields.filter((f) => f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")).map((f) => f.number);
      const value = deepValueBytes(deep);
      for (const num of deepFields.slice(0, 2)) {
        for (const b of varint((num << 3) | 2)) base.push(b);
        for (const b of varint(value.length)) base.push(b);
        for (const b of value) base.push(b);
      }
      return Uint8Array.from(base);
    });
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 3, arbitrary: fc.array(wireField, { maxLength: 6 }).map((fs) => Uint8Array.from(fs.flat())) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) },
  );
}

/** The body of a call: one or two frames of the message, or a broken frame. */
export function grpcBody(m: GrpcMethodInfo): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: grpcMessage(m).map((b) => frame(b)) },
    { weight: 1, arbitrary: fc.tuple(grpcMessage(m), grpcMessage(m)).map(([a, b]) => Buffer.concat([frame(a), frame(b)])) },
    { weight: 1, arbitrary: grpcMessage(m).map((b) => frame(b, 1)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: grpcMessage(m).map((b) => frame(b).subarray(0, Math.max(1, frame(b).length - 3))) },
  );
}

export { grpcMethods, type GrpcMethodInfo };

/** gRPC codes that mean "the server broke" (and that clients retry): never the answer to bad input. */
export const SERVER_FAULT_CODES = new Set(["2", "13"]);

/** One fuzzed gRPC call. Streams are cut after `streamMs`. */
export function grpcSend(session: ClientHttp2Session, m: GrpcMethodInfo, body: Buffer, streamMs = 300) {
  const streaming = m.kind !== "unary";
  return grpcCall(session, m.path, body, streaming ? streamMs : 10_000);
}

/** Forces a full garbage collection (the flag is set at run time; the fuzzers measure memory after it). */
export function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}
