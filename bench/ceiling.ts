/**
 * The physical ceilings: bare node:http2 between two processes on loopback,
 * one session, moving the byte sizes of a real Enqueue call (protobuf request
 * and response, gRPC framing) at the concurrencies the SDK scenarios use. No
 * codec, no routing, no store: what node's HTTP/2 alone costs, two ways.
 *
 * - stream per call: one HTTP/2 request/response stream per call, as a unary
 *   RPC (or the HTTP binding) moves it.
 * - pipelined: the way the SDK's gRPC fast path moves it. One long-lived
 *   stream; every call asked for in the same tick leaves in one length-prefixed
 *   frame, and the server answers each frame with one frame of as many
 *   responses. StreamJobs (dispatch) and the settle stream move jobs and acks
 *   the same way, so the worker figures compare with it too.
 *
 * A third figure, batch, sends one stream per call of `batchSize` requests'
 * bytes (an EnqueueBatch of that many jobs).
 *
 *   ceiling.ts server {"requestBytes":N, "responseBytes":N}  -> ready {url}
 *   ceiling.ts client {"url":..., "requestBytes":N, "responseBytes":N, "modes":[{"name","n","concurrency"}], "batch":{"n","size"}}
 */
import { connect, createServer, constants as h2, type ClientHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { messageReader } from "./wire.js";
import { childSetup, mark, mb, percentiles, phase, rate, runChild, send, type Percentiles, type Rate } from "./common.js";

export interface CeilingMode {
  name: string;
  n: number;
  concurrency: number;
}
export type CeilingRate = Rate & { concurrency: number; rtt?: Percentiles };
export interface CeilingResult {
  /** One HTTP/2 stream per call, by mode name (sequential, c32, c50). */
  modes: Record<string, CeilingRate>;
  /** The same calls pipelined on one long-lived stream, frames of what each tick asked for. */
  pipelined?: Record<string, CeilingRate & { callsPerFrame: number }>;
  /** One stream per batch of `size` calls' bytes, one batch at a time; perSec counts calls. */
  batch?: Rate & { size: number };
  peakRssMB: number;
  /** CPU of the bare server per call, stream per call, over every mode (filled in by the orchestrator). */
  serverCpuUsPerOp?: number;
  /** The same, pipelined. */
  pipelinedServerCpuUsPerOp?: number;
}

const PIPELINED_PATH = "/ceiling/pipelined";
const CALLS_HEADER = "x-calls";
const [role, json] = process.argv.slice(2);
const cfg = JSON.parse(json ?? "{}") as {
  responseBytes?: number;
  requestBytes?: number;
  url?: string;
  modes?: CeilingMode[];
  batch?: { n: number; size: number };
};
const requestBytes = Math.max(1, cfg.requestBytes ?? 1);
const responseBytes = Math.max(1, cfg.responseBytes ?? 1);

/** A length-prefixed (gRPC-style) message of `calls` times `each` bytes. */
function frame(calls: number, each: number): Buffer {
  const b = Buffer.alloc(5 + calls * each, 7);
  b[0] = 0;
  b.writeUInt32BE(calls * each, 1);
  return b;
}

if (role === "server") {
  childSetup();
  const server = createServer();
  server.on("stream", (stream, headers) => {
    if (headers[h2.HTTP2_HEADER_PATH] === PIPELINED_PATH) {
      // One long-lived stream: each request frame of k calls is answered by one frame of k responses.
      stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, "content-type": "application/grpc" });
      stream.on(
        "data",
        messageReader((len) => stream.write(frame(Math.max(1, Math.round(len / requestBytes)), responseBytes))),
      );
      stream.on("end", () => stream.end());
      return;
    }
    const calls = Number(headers[CALLS_HEADER] ?? 1) || 1;
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, "content-type": "application/grpc" });
      stream.end(frame(calls, responseBytes));
    });
  });
  server.listen(0, "127.0.0.1", () => {
    void send({ type: "ready", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  process.on("message", (m: { cmd: string }) => {
    if (m.cmd === "stop") server.close(() => process.exit(0));
  });
} else {
  await runChild(async () => {
    const session = connect(cfg.url!);
    const perStream = (calls = 1) =>
      new Promise<void>((resolve, reject) => {
        const req = session.request({
          [h2.HTTP2_HEADER_METHOD]: "POST",
          [h2.HTTP2_HEADER_PATH]: "/ojs.v1.OJSService/Enqueue",
          "content-type": "application/grpc",
          [CALLS_HEADER]: String(calls),
        });
        req.on("data", () => {});
        req.on("end", resolve);
        req.on("error", reject);
        req.end(frame(calls, requestBytes));
      });
    const pipe = pipelined(session);

    for (let i = 0; i < 500; i++) await perStream();
    for (let i = 0; i < 500; i++) await pipe.call();
    await Promise.all(Array.from({ length: 500 }, () => pipe.call()));

    // Phases let the orchestrator split the server's CPU time between the two ways.
    const modes: CeilingResult["modes"] = {};
    phase("per-stream");
    for (const m of cfg.modes ?? []) modes[m.name] = await measure(m, () => perStream());
    const piped: NonNullable<CeilingResult["pipelined"]> = {};
    phase("pipelined");
    for (const m of cfg.modes ?? []) {
      const frames0 = pipe.frames;
      const r = await measure(m, pipe.call);
      piped[m.name] = { ...r, callsPerFrame: Math.round((m.n / Math.max(1, pipe.frames - frames0)) * 10) / 10 };
    }
    phase("end");
    let batch: CeilingResult["batch"];
    if (cfg.batch && cfg.batch.n > 0) {
      const size = cfg.batch.size;
      await perStream(size);
      const t0 = mark();
      for (let i = 0; i < cfg.batch.n; i++) await perStream(size);
      batch = { ...rate(cfg.batch.n * size, t0), size };
    }
    pipe.close();
    session.close();
    return { modes, pipelined: piped, ...(batch ? { batch } : {}), peakRssMB: mb(process.resourceUsage().maxRSS * 1024) } satisfies CeilingResult;
  });
}

async function measure(m: CeilingMode, call: () => Promise<void>): Promise<CeilingRate> {
  const rtts: number[] = [];
  let left = m.n;
  const lane = async () => {
    while (left > 0) {
      left--;
      const t = performance.now();
      await call();
      rtts.push(performance.now() - t);
    }
  };
  const t0 = mark();
  await Promise.all(Array.from({ length: m.concurrency }, lane));
  return { ...rate(m.n, t0), concurrency: m.concurrency, ...(m.concurrency === 1 ? { rtt: percentiles(rtts) } : {}) };
}

/** Calls pipelined on one long-lived stream: each tick's calls leave in one frame; answers settle them in order. */
function pipelined(session: ClientHttp2Session): { call: () => Promise<void>; close: () => void; readonly frames: number } {
  const stream = session.request({ [h2.HTTP2_HEADER_METHOD]: "POST", [h2.HTTP2_HEADER_PATH]: PIPELINED_PATH, "content-type": "application/grpc" });
  const waiting: Array<() => void> = [];
  let head = 0;
  let gathered: Array<() => void> = [];
  let queued = false;
  let frames = 0;
  stream.on(
    "data",
    messageReader((len) => {
      const k = Math.max(1, Math.round(len / responseBytes));
      for (let i = 0; i < k && head < waiting.length; i++) waiting[head++]!();
      if (head > 4096 && head === waiting.length) {
        waiting.length = 0;
        head = 0;
      }
    }),
  );
  const flush = () => {
    queued = false;
    const calls = gathered;
    gathered = [];
    waiting.push(...calls);
    frames++;
    stream.write(frame(calls.length, requestBytes));
  };
  return {
    call: () =>
      new Promise<void>((resolve) => {
        gathered.push(resolve);
        if (!queued) {
          queued = true;
          queueMicrotask(flush);
        }
      }),
    close: () => stream.end(),
    get frames() {
      return frames;
    },
  };
}
