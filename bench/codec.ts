/**
 * Micro-benchmark: the protobuf-es path (../src/codec/proto.ts + toBinary /
 * fromBinary) against the hand-written codec (../src/codec/wire) on the same
 * domain objects. Prints microseconds per operation, median of several rounds.
 *
 *   npx tsx bench/codec.ts            # all cases
 *   npx tsx bench/codec.ts --quick    # fewer rounds
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnqueueBatchResponseSchema, EnqueueRequestSchema, JobSchema } from "../gen/ojs/v1/job_pb.js";
import { SettleStreamRequestSchema, SettleStreamResponseSchema } from "../gen/ojsconnect/v1/fastpath_pb.js";
import {
  jobErrorFromProto,
  jobErrorToProto,
  jobFromProto,
  jobStateFromProto,
  jobStateToProto,
  jobToProto,
  requestFromProto,
  requestToProto,
  resultFromStruct,
  resultToStruct,
} from "../src/codec/proto.js";
import { dateFromTimestamp, timestampFromDate } from "../src/codec/values.js";
import {
  decodeEnqueueBatchResponse,
  decodeEnqueueRequest,
  decodeJob,
  decodeSettleStreamRequest,
  decodeSettleStreamResponse,
  encodeEnqueueBatchResponse,
  encodeEnqueueRequest,
  encodeJob,
  encodeSettleStreamRequest,
  encodeSettleStreamResponse,
  type SettleCall,
  type SettleOutcome,
} from "../src/codec/wire/index.js";
import type { Job, NormalizedJobRequest } from "../src/model/job.js";
import type { JsonValue } from "../src/model/json.js";
import type { NackResult } from "../src/model/system.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const ROUND_MS = quick ? 150 : 400;

// --- fixtures ---------------------------------------------------------------------------

const t0 = new Date("2026-11-23T10:00:00.123Z");

/** A typical job: 5 args incl. an object, small meta, two errors, the server's default retry policy. */
const typical: Job = {
  id: "019539a4-7c2e-7000-8000-0000000a1b2c",
  type: "email.send",
  queue: "default",
  args: ["user@example.com", 42, true, { template: "welcome", locale: "en-GB", vars: { name: "Ada", plan: "pro" } }, null],
  meta: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tenant: "acme" },
  state: "active",
  priority: 0,
  attempt: 3,
  maxAttempts: 5,
  retry: { maxAttempts: 5, initialInterval: 1000, backoffCoefficient: 2, maxInterval: 300_000, jitter: true },
  errors: [
    { code: "smtp.timeout", message: "connection timed out after 30s", retryable: true, attempt: 1, occurredAt: t0 },
    { code: "smtp.unavailable", message: "421 service not available", retryable: true, attempt: 2, occurredAt: t0 },
  ],
  createdAt: t0,
  enqueuedAt: t0,
  startedAt: t0,
  timeout: 30_000,
  visibilityTimeout: 60_000,
  tags: ["email", "onboarding"],
  specversion: "1.0",
};

const items = Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.99 + i, tags: ["a", "b"], gift: i % 3 === 0 }));
/** A larger job: a 20-line order, 10 meta keys, five errors with backtraces, unique policy, result, workflow. */
const large: Job = {
  ...typical,
  id: "019539a4-7c2e-7000-8000-0000000ffff1",
  type: "order.fulfil",
  args: [
    { orderId: "ord_8c1f2d", customer: { id: 991, name: "Zoë Ünicode", address: { line1: "1 Main St", city: "Zürich", zip: "8001" } }, items },
    "express",
    3,
    false,
    ["warehouse-1", "warehouse-2", "warehouse-3"],
  ],
  meta: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`key_${i}`, i % 2 ? `value number ${i}` : i])),
  errors: Array.from({ length: 5 }, (_, i) => ({
    code: "warehouse.unavailable",
    message: `warehouse ${i} did not answer`,
    retryable: true,
    attempt: i + 1,
    occurredAt: t0,
    backtrace: "Error: warehouse unavailable\n    at reserve (/app/src/warehouse.ts:120:11)\n    at fulfil (/app/src/order.ts:42:5)",
  })),
  unique: { keys: ["type", "args"], period: 3_600_000, onConflict: "reject", states: ["available", "active", "scheduled"] },
  result: { shipped: 17, pending: 3 },
  workflowId: "019539a4-7c2e-7000-8000-00000000aaaa",
  parentResults: { reserve: { ok: true }, price: { total: 1234.5 } },
  state: "completed",
  completedAt: t0,
};

const now = t0.getTime();
const typicalRequest: NormalizedJobRequest = {
  type: "email.send",
  args: typical.args,
  queue: "default",
  meta: typical.meta,
  retry: { maxAttempts: 5 },
  tags: ["email"],
  timeout: 30_000,
};
const largeRequest: NormalizedJobRequest = {
  id: "019539a4-7c2e-7000-8000-0000000ffff1",
  type: "order.fulfil",
  args: large.args,
  queue: "orders",
  priority: 10,
  meta: large.meta,
  retry: { maxAttempts: 10, initialInterval: 2000, backoffCoefficient: 1.5, maxInterval: 600_000, jitter: true, backoffStrategy: "polynomial" },
  unique: { keys: ["type", "args"], period: 3_600_000, onConflict: "reject" },
  scheduledAt: new Date(now + 60_000),
  expiresAt: new Date(now + 86_400_000),
  tags: ["orders", "express"],
  schema: "order.v2",
};

// A settle frame as a worker sends it: 16 calls completed in one tick, one in four a nack.
const SETTLE_CALLS = 16;
const settleCalls: SettleCall[] = Array.from({ length: SETTLE_CALLS }, (_, i) =>
  i % 4 === 3
    ? {
        seq: 1000 + i,
        workerId: "worker-1",
        nack: { jobId: `019539a4-7c2e-7000-8000-${String(i).padStart(12, "0")}`, error: { code: "boom", message: "handler threw", retryable: true } },
      }
    : {
        seq: 1000 + i,
        workerId: "worker-1",
        ack: { jobId: `019539a4-7c2e-7000-8000-${String(i).padStart(12, "0")}`, result: i % 2 ? { sent: true, id: i } : "ok" },
      },
);
const settleOutcomes: SettleOutcome[] = settleCalls.map((c) =>
  c.nack ? { seq: c.seq, nack: { state: "retryable", nextAttemptAt: t0 } satisfies NackResult } : { seq: c.seq, ack: { acknowledged: true } },
);

// The protobuf-es path for the frames, built the way a transport would build it from the same objects.
function pbSettleRequest(calls: SettleCall[]): Uint8Array {
  return toBinary(
    SettleStreamRequestSchema,
    create(SettleStreamRequestSchema, {
      calls: calls.map((c) => ({
        seq: c.seq,
        workerId: c.workerId ?? "",
        op: c.ack
          ? { case: "ack" as const, value: { jobId: c.ack.jobId, ...(c.ack.result !== undefined ? { result: resultToStruct(c.ack.result) } : {}) } }
          : { case: "nack" as const, value: { jobId: c.nack!.jobId, error: jobErrorToProto(c.nack!.error!) } },
      })),
    }),
  );
}
function pbDecodeSettleRequest(bytes: Uint8Array): SettleCall[] {
  return fromBinary(SettleStreamRequestSchema, bytes).calls.map((c): SettleCall => {
    const out: SettleCall =
      c.op.case === "ack"
        ? { seq: c.seq, ack: { jobId: c.op.value.jobId, ...(c.op.value.result ? { result: resultFromStruct(c.op.value.result) } : {}) } }
        : c.op.case === "nack"
          ? { seq: c.seq, nack: { jobId: c.op.value.jobId, ...(c.op.value.error ? { error: jobErrorFromProto(c.op.value.error) } : {}) } }
          : { seq: c.seq };
    if (c.workerId) out.workerId = c.workerId;
    return out;
  });
}
function pbSettleResponse(outcomes: SettleOutcome[]): Uint8Array {
  return toBinary(
    SettleStreamResponseSchema,
    create(SettleStreamResponseSchema, {
      outcomes: outcomes.map((o) => ({
        seq: o.seq,
        result: o.ack
          ? { case: "ack" as const, value: { acknowledged: o.ack.acknowledged } }
          : {
              case: "nack" as const,
              value: { state: jobStateToProto(o.nack!.state), ...(o.nack!.nextAttemptAt ? { nextAttemptAt: timestampFromDate(o.nack!.nextAttemptAt) } : {}) },
            },
      })),
    }),
  );
}
function pbDecodeSettleResponse(bytes: Uint8Array): SettleOutcome[] {
  return fromBinary(SettleStreamResponseSchema, bytes).outcomes.map((o): SettleOutcome => {
    if (o.result.case === "ack") return { seq: o.seq, ack: { acknowledged: o.result.value.acknowledged } };
    if (o.result.case === "nack") {
      const n: NackResult = { state: jobStateFromProto(o.result.value.state) ?? "retryable" };
      if (o.result.value.nextAttemptAt) n.nextAttemptAt = dateFromTimestamp(o.result.value.nextAttemptAt);
      return { seq: o.seq, nack: n };
    }
    return { seq: o.seq };
  });
}

// --- harness --------------------------------------------------------------------------------

let sink = 0;
function consume(v: unknown): void {
  if (v === undefined) sink++;
}

/** Median µs per call of `fn` over ROUNDS rounds of ~ROUND_MS each, after a warm-up. */
function measure(fn: () => unknown): number {
  let n = 0;
  const warmEnd = performance.now() + ROUND_MS;
  while (performance.now() < warmEnd) {
    consume(fn());
    n++;
  }
  const batch = Math.max(1, Math.floor(n / 20));
  const results: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < batch; i++) consume(fn());
      calls += batch;
      elapsed = performance.now() - start;
    } while (elapsed < ROUND_MS);
    results.push((elapsed * 1000) / calls);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)]!;
}

interface Row {
  name: string;
  bytes: number;
  pb: number;
  wire: number;
}
const rows: Row[] = [];
function compare(name: string, bytes: number, pb: () => unknown, wire: () => unknown): void {
  const row = { name, bytes, pb: measure(pb), wire: measure(wire) };
  rows.push(row);
  print(row);
}

function print(r: Row): void {
  const f = (x: number): string => x.toFixed(x < 10 ? 2 : 1).padStart(8);
  console.log(`${r.name.padEnd(44)} ${String(r.bytes).padStart(6)} B ${f(r.pb)} µs ${f(r.wire)} µs ${(r.pb / r.wire).toFixed(1).padStart(6)}x`);
}

// --- run ---------------------------------------------------------------------------------------

// Sanity: both paths agree on the bytes before anything is timed.
for (const j of [typical, large]) {
  const a = toBinary(JobSchema, jobToProto(j));
  const b = encodeJob(j);
  if (Buffer.compare(a, b) !== 0) throw new Error("encodeJob disagrees with protobuf-es");
}

console.log(
  `node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms, median; load average ${(await import("node:os"))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(`${"operation".padEnd(44)} ${"size".padStart(8)} ${"protobuf-es".padStart(11)} ${"wire".padStart(11)} ${"speedup".padStart(7)}`);

for (const [label, job] of [
  ["typical", typical],
  ["large", large],
] as const) {
  const bytes = encodeJob(job);
  compare(
    `Job encode (${label})`,
    bytes.length,
    () => toBinary(JobSchema, jobToProto(job)),
    () => encodeJob(job),
  );
  compare(
    `Job decode (${label})`,
    bytes.length,
    () => jobFromProto(fromBinary(JobSchema, bytes)),
    () => decodeJob(bytes),
  );
}

for (const [label, req] of [
  ["typical", typicalRequest],
  ["large", largeRequest],
] as const) {
  const bytes = encodeEnqueueRequest(req, now);
  compare(
    `EnqueueRequest encode (${label})`,
    bytes.length,
    () => toBinary(EnqueueRequestSchema, requestToProto(req, now)),
    () => encodeEnqueueRequest(req, now),
  );
  compare(
    `EnqueueRequest decode (${label})`,
    bytes.length,
    () => {
      const p = fromBinary(EnqueueRequestSchema, bytes);
      return requestFromProto(p.type, p.args, p.options, now);
    },
    () => decodeEnqueueRequest(bytes, now),
  );
}

{
  const req = encodeSettleStreamRequest(settleCalls);
  const res = encodeSettleStreamResponse(settleOutcomes);
  compare(
    `SettleStreamRequest encode (${SETTLE_CALLS} calls)`,
    req.length,
    () => pbSettleRequest(settleCalls),
    () => encodeSettleStreamRequest(settleCalls),
  );
  compare(
    `SettleStreamRequest decode (${SETTLE_CALLS} calls)`,
    req.length,
    () => pbDecodeSettleRequest(req),
    () => decodeSettleStreamRequest(req),
  );
  compare(
    `SettleStreamResponse encode (${SETTLE_CALLS} outcomes)`,
    res.length,
    () => pbSettleResponse(settleOutcomes),
    () => encodeSettleStreamResponse(settleOutcomes),
  );
  compare(
    `SettleStreamResponse decode (${SETTLE_CALLS} outcomes)`,
    res.length,
    () => pbDecodeSettleResponse(res),
    () => decodeSettleStreamResponse(res),
  );
}

// A batch answer of 100 typical jobs (the enqueueBatch path).
{
  const jobs = Array.from({ length: 100 }, (_, i) => ({ ...typical, id: `019539a4-7c2e-7000-8000-${String(i).padStart(12, "0")}` }));
  const bytes = encodeEnqueueBatchResponse(jobs);
  compare(
    "EnqueueBatchResponse encode (100 jobs)",
    bytes.length,
    () => toBinary(EnqueueBatchResponseSchema, create(EnqueueBatchResponseSchema, { jobs: jobs.map(jobToProto), count: jobs.length })),
    () => encodeEnqueueBatchResponse(jobs),
  );
  compare(
    "EnqueueBatchResponse decode (100 jobs)",
    bytes.length,
    () => fromBinary(EnqueueBatchResponseSchema, bytes).jobs.map(jobFromProto),
    () => decodeEnqueueBatchResponse(bytes).jobs,
  );
}

// The JSON transport's cost for the same job, for scale.
{
  const { jobFromJson, jobToJson } = await import("../src/codec/json.js");
  const text = JSON.stringify(jobToJson(typical));
  const json = (name: string, fn: () => unknown): void =>
    console.log(`${name.padEnd(44)} ${String(text.length).padStart(6)} B ${measure(fn).toFixed(2).padStart(8)} µs`);
  json("(for scale) JSON encode, typical job", () => JSON.stringify(jobToJson(typical)));
  json("(for scale) JSON decode, typical job", () => jobFromJson(JSON.parse(text) as Record<string, JsonValue>));
}
if (sink < 0) console.log(sink);
