/**
 * The server's side of a compact EnqueueBatch in one process, without HTTP/2: decode the
 * request, enqueueJobs, the store's durability barrier, encode the answer, one batch at a time.
 * Prints CPU per job and the bytes each stored job keeps (heap after a full GC, over the jobs
 * stored): the second does not move with the machine's load, unlike every rate and CPU figure.
 * Pair with `node --trace-gc` (through `node --import tsx`) for the collector's share.
 *
 *   npx tsx bench/batch-server-path.ts [--batches=150] [--journal]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startServer } from "../src/server/index.js";
import { serverCore } from "../src/server/internal.js";
import { enqueueJobs } from "../src/server/grpc/calls.js";
import { decodeEnqueueBatchRequest, encodeEnqueueBatchAnswer, encodeEnqueueBatchRequest } from "../src/codec/wire/index.js";
import { JOB_TYPE, payload } from "./common.js";

const batches = Number(process.argv.find((a) => a.startsWith("--batches="))?.split("=")[1] ?? 150);
const dir = process.argv.includes("--journal") ? mkdtempSync(join(tmpdir(), "ojs-batch-path-")) : undefined;
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const server = await startServer({ port: 0, ...(dir ? { dataDir: dir, fsync: "always" as const } : {}) });
const core = serverCore(server);
let i = 0;
const request = () =>
  encodeEnqueueBatchRequest(
    Array.from({ length: 1000 }, () => ({ type: JOB_TYPE, args: payload(i++), queue: "batch" })),
    undefined,
    Date.now(),
    true,
  );
const requests = Array.from({ length: batches + 5 }, request);
async function one(bytes: Uint8Array): Promise<Uint8Array> {
  const req = decodeEnqueueBatchRequest(bytes, Date.now());
  const jobs = await enqueueJobs(core, req.jobs, req.defaults);
  await core.durable();
  return encodeEnqueueBatchAnswer(jobs, req.jobs, true);
}
for (let k = 0; k < 5; k++) await one(requests[k]!);
gc();
const heap0 = process.memoryUsage().heapUsed;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let k = 5; k < requests.length; k++) await one(requests[k]!);
const cpu = process.cpuUsage(cpu0);
const ms = performance.now() - t0;
gc();
const n = batches * 1000;
console.log(
  JSON.stringify({
    cpuUsPerJob: +((cpu.user + cpu.system) / n).toFixed(2),
    wallUsPerJob: +((ms * 1000) / n).toFixed(2),
    keptBytesPerJob: Math.round((process.memoryUsage().heapUsed - heap0) / n),
  }),
);
await server.close();
if (dir) rmSync(dir, { recursive: true, force: true });
