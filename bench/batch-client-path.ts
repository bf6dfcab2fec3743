/**
 * The client's side of a compact EnqueueBatch in one process, without a server: each step a
 * batch of `--size` jobs (the bench's payload and `{ queue }`) takes on the client, warm, with
 * the CPU per job (median and lowest of 9 runs of 50 batches) and the bytes it allocates per job
 * (V8's sampling heap profiler, collected objects included). Steps: `Client.enqueueBatch` up to
 * the transport (limits walk, normalisation: the transport answers at once), the request's encode,
 * `sentEntry` of every entry (what the answer is completed from; before, the client decoded the
 * request bytes: `decodeSentEntries`, measured too), the compact answer's decode.
 * Allocated bytes hardly move with the machine's load, unlike the CPU figures: alternate trees.
 *
 *   npx tsx bench/batch-client-path.ts [--size=1000]
 */
import { Session } from "node:inspector/promises";
import { Client } from "../src/index.js";
import type { NormalizedJobRequest, Job } from "../src/model/job.js";
import {
  decodeEnqueueBatchAnswer,
  decodeEnqueueBatchRequest,
  decodeSentEntries,
  encodeEnqueueBatchAnswer,
  encodeEnqueueBatchRequest,
  sentEntry,
} from "../src/codec/wire/index.js";
import { newJob } from "../src/server/store/policies.js";
import { DEFAULT_SHOWN_RETRY } from "../src/server/store/records.js";
import { uuidv7 } from "../src/model/uuid.js";
import { JOB_TYPE, payload } from "./common.js";

const size = Number(process.argv.find((a) => a.startsWith("--size="))?.split("=")[1] ?? 1_000);
let i = 0;
const make = () => Array.from({ length: size }, () => ({ type: JOB_TYPE, args: payload(i++), options: { queue: "batch" } }));
const reqs: NormalizedJobRequest[] = make().map((j) => ({ type: j.type, args: j.args, queue: j.options.queue }));
const now = Date.now();
const request = encodeEnqueueBatchRequest(reqs, undefined, now, true);
// The server's answer to it, as a fresh batch gets it: the jobs built from the entries it decoded.
const decoded = decodeEnqueueBatchRequest(request, now).jobs;
const jobs: Job[] = decoded.map((e) => newJob(e, uuidv7(now), { maxAttempts: 3, shown: DEFAULT_SHOWN_RETRY }, now));
const answer = encodeEnqueueBatchAnswer(jobs, decoded, true);
const entries = reqs.map((r) => sentEntry(r));

const client = new Client({ url: "http://127.0.0.1:1" });
// The transport answers at once: what is measured is the client's work before it.
(client.transport as unknown as { enqueueBatch: () => Promise<Job[]> }).enqueueBatch = () => Promise.resolve([]);
// Client.enqueueBatch copies nothing it is given: one set of batches serves every run.
const batches = Array.from({ length: 50 }, make);

const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");

interface HeapNode {
  selfSize: number;
  children: HeapNode[];
}
const total = (n: HeapNode): number => n.children.reduce((s, c) => s + total(c), n.selfSize);

async function step(name: string, run: (k: number) => unknown): Promise<void> {
  const many = async () => {
    for (let k = 0; k < 50; k++) await run(k);
  };
  for (let w = 0; w < 6; w++) await many();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  await many();
  const { profile } = await session.post("HeapProfiler.stopSampling");
  const us: number[] = [];
  for (let r = 0; r < 9; r++) {
    const c0 = process.cpuUsage();
    await many();
    const c = process.cpuUsage(c0);
    us.push((c.user + c.system) / (50 * size));
  }
  us.sort((a, b) => a - b);
  const bytes = Math.round(total(profile.head as unknown as HeapNode) / (50 * size));
  console.log(JSON.stringify({ step: name, bytesPerJob: bytes, usPerJob: +us[4]!.toFixed(3), lowestUsPerJob: +us[0]!.toFixed(3) }));
}

await step("Client.enqueueBatch to the transport", (k) => client.enqueueBatch(batches[k]!));
await step("request encode", () => encodeEnqueueBatchRequest(reqs, undefined, now, true));
await step("sentEntry of each entry", () => {
  const out = new Array<NormalizedJobRequest>(reqs.length);
  for (let j = 0; j < reqs.length; j++) out[j] = sentEntry(reqs[j]!);
  return out;
});
// What the client did before sentEntry (3f09ceb): decoded the request bytes it had sent.
await step("decodeSentEntries of the request", () => decodeSentEntries(request));
await step("answer decode", () => decodeEnqueueBatchAnswer(answer, entries));
session.disconnect();
await client.close();
