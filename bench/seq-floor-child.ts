/**
 * The processes of bench/seq-floor.ts, one role each (fresh for every case of
 * every round):
 *
 *   seq-floor-child.ts bare-server {"answerHex"}   -> ready {url}
 *     node:http2 alone: every request message on any stream is answered at
 *     once by one fixed message (the real server's answer to the real request,
 *     captured by the orchestrator), in the 'data' callback that read it.
 *   seq-floor-child.ts client {"kind", "url", "serverPids", "calls", "warm", "requestHex", "root"} -> result
 *     one caller awaiting each call; kinds:
 *     - own-h2:  src/transport/h2 (H2Client + h2OpenRawStream), the same bytes every call, no codec;
 *     - node-h2: node:http2's client, the same bytes every call, no codec;
 *     - client:  Client.enqueue of `root` (the bench's payload and `{ queue }`), the SDK's whole path;
 *     - bullmq:  BullMQ's Queue.add (the bench's driver) on the Redis at `url`.
 *
 * CPU is read from /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU, every thread of the
 * process), for this process and each server process, over the measured calls only.
 */
import { connect, constants as h2, createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { childSetup, JOB_TYPE, payload, runChild, send } from "./common.js";
import { threadsCpuNs } from "./schedstat.js";
import { messageReader } from "./wire.js";

const ENQUEUE_PATH = "/ojsconnect.v1.FastPathService/EnqueueStream";

export interface FloorClientSpec {
  kind: "own-h2" | "node-h2" | "client" | "bullmq";
  url: string;
  /** Processes on the other side of the calls (the server, or redis-server). */
  serverPids: number[];
  calls: number;
  warm: number;
  /** The real request's gRPC message (no 5-byte prefix), for the raw kinds. */
  requestHex: string;
  /** Checkout whose src/ the `client` kind runs (A/B). */
  root: string;
}

export interface FloorResult {
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  clientUsPerCall: number;
  serverUsPerCall: number;
}

function framed(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  msg.copy(out, 5);
  return out;
}

const [role, json] = process.argv.slice(2);

if (role === "bare-server") {
  childSetup();
  const answer = framed(Buffer.from((JSON.parse(json ?? "{}") as { answerHex: string }).answerHex, "hex"));
  const server = createServer();
  server.on("stream", (stream) => {
    stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, "content-type": "application/grpc+proto" });
    // A new Buffer per answer, as a real server writes a new one (node:http2 may hold it until sent).
    stream.on(
      "data",
      messageReader(() => stream.write(Buffer.from(answer))),
    );
    stream.on("end", () => stream.end());
  });
  server.listen(0, "127.0.0.1", () => void send({ type: "ready", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  process.on("message", (m: { cmd: string }) => {
    if (m.cmd === "stop") process.exit(0);
  });
} else if (role === "client") {
  await runChild(() => runClient(JSON.parse(json ?? "{}") as FloorClientSpec));
}

async function runClient(spec: FloorClientSpec): Promise<FloorResult> {
  const { call, close } = await caller(spec);
  for (let w = 0; w < spec.warm; w++) await call(w);
  const took = new Float64Array(spec.calls);
  const c0 = threadsCpuNs(process.pid);
  const s0 = spec.serverPids.reduce((a, p) => a + threadsCpuNs(p), 0);
  const t0 = performance.now();
  for (let n = 0; n < spec.calls; n++) {
    const t = performance.now();
    await call(spec.warm + n);
    took[n] = performance.now() - t;
  }
  const ms = performance.now() - t0;
  const s = spec.serverPids.reduce((a, p) => a + threadsCpuNs(p), 0) - s0;
  const c = threadsCpuNs(process.pid) - c0;
  await close();
  const sorted = took.slice().sort();
  return {
    callsPerSec: Math.round(spec.calls / (ms / 1000)),
    p50Us: Math.round(sorted[spec.calls >> 1]! * 1000),
    p99Us: Math.round(sorted[Math.floor(spec.calls * 0.99)]! * 1000),
    clientUsPerCall: +(c / 1000 / spec.calls).toFixed(1),
    serverUsPerCall: +(s / 1000 / spec.calls).toFixed(1),
  };
}

interface Caller {
  call(i: number): Promise<unknown>;
  close(): Promise<void>;
}

async function caller(spec: FloorClientSpec): Promise<Caller> {
  const request = Buffer.from(spec.requestHex, "hex");
  if (spec.kind === "own-h2") return ownH2(spec.url, request);
  if (spec.kind === "node-h2") return nodeH2(spec.url, request);
  if (spec.kind === "bullmq") {
    const { bullmqDriver } = await import("./drivers/bullmq.js");
    const d = await bullmqDriver(spec.url, "seq-floor");
    return { call: (i) => d.enqueue(payload(i)), close: () => d.close() };
  }
  const { Client } = (await import(pathToFileURL(`${spec.root}/src/index.ts`).href)) as typeof import("../src/index.js");
  const client = new Client({ url: spec.url, transport: "grpc" });
  return { call: (i) => client.enqueue(JOB_TYPE, payload(i), { queue: "seq" }), close: () => client.close() };
}

/** One call in flight at a time: the answer's message settles it. */
function oneAtATime(write: () => void): { call: () => Promise<void>; answered: () => void } {
  let waiting: (() => void) | undefined;
  return {
    call: () =>
      new Promise<void>((resolve) => {
        waiting = resolve;
        write();
      }),
    answered: () => {
      const w = waiting;
      waiting = undefined;
      w?.();
    },
  };
}

async function ownH2(url: string, request: Buffer): Promise<Caller> {
  const { H2Client } = await import("../src/transport/h2/client.js");
  const { h2OpenRawStream } = await import("../src/transport/grpc/h2-raw.js");
  const { ENQUEUE_ANSWER_HEADER } = await import("../src/codec/wire/index.js");
  const h2c = new H2Client(new URL(url), { pingIntervalMs: 60_000, pingTimeoutMs: 15_000 });
  let failure: unknown;
  const turn = oneAtATime(() => stream.send(request));
  const stream = await h2OpenRawStream(h2c, ENQUEUE_PATH, { [ENQUEUE_ANSWER_HEADER]: "assigned" }, { message: turn.answered, end: (e) => (failure = e) });
  return {
    call: () => (failure ? Promise.reject(failure as Error) : turn.call()),
    close: () => {
      stream.end();
      h2c.close();
      return Promise.resolve();
    },
  };
}

function nodeH2(url: string, request: Buffer): Caller {
  const session = connect(url);
  const stream = session.request({
    [h2.HTTP2_HEADER_METHOD]: "POST",
    [h2.HTTP2_HEADER_PATH]: ENQUEUE_PATH,
    "content-type": "application/grpc+proto",
    te: "trailers",
    "x-ojs-connect-enqueue-answer": "assigned",
  });
  const frame = framed(request);
  const turn = oneAtATime(() => stream.write(Buffer.from(frame)));
  stream.on("data", messageReader(turn.answered));
  // A broken stream is a failed round: the child exits and the orchestrator says so.
  stream.on("error", (e) => {
    throw e;
  });
  return {
    call: turn.call,
    close: () => new Promise<void>((resolve) => (stream.close(), session.close(() => resolve()))),
  };
}
