/**
 * Standard (ojs.v1) enqueueBatch through the two HTTP/2 clients of the gRPC
 * transport, the own (`http2Client: "ojs"`) and node:http2 (`"node"`), in one
 * client process against one `--no-fast-path` server process, batch by
 * batch in alternation: both see the same server (its heap, its GC) and the
 * same load, which separate runs do not (their rates swing 2-3x with the
 * server's CPU per job). Prints per-batch wall time and its split at the
 * moment the answer message is complete (request, server, answer on the wire
 * | decoding after it).
 *
 *   npx tsx bench/batch-wires.ts [--batches=150] [--size=1000]
 */
import { Client, grpcTransport } from "../src/index.js";
import { FrameParser } from "../src/transport/grpc/raw.js";
import { JOB_TYPE, payload } from "./common.js";
import { forkScript, installExitHandlers } from "./procs.js";

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const batches = arg("batches", 150);
const size = arg("size", 1_000);

// Both wires parse the answer with FrameParser: the time its message comes out splits the call.
let messageAt = 0;
const push = FrameParser.prototype.push;
FrameParser.prototype.push = function (this: FrameParser, chunk: Buffer, out: (m: Uint8Array) => void): void {
  push.call(this, chunk, (m) => {
    messageAt = performance.now();
    out(m);
  });
};

installExitHandlers();
const server = forkScript("server.ts", ["--no-fast-path"]);
const { url } = await server.next<{ url: string }>("ready", 30_000);
const wires = (["ojs", "node"] as const).map((http2Client) => {
  const transport = grpcTransport({ url, http2Client });
  return { name: http2Client, transport, client: new Client({ url, transport }), total: [] as number[], wire: [] as number[], after: [] as number[] };
});
let i = 0;
const make = () => Array.from({ length: size }, () => ({ type: JOB_TYPE, args: payload(i++), options: { queue: "batch" } }));
for (const w of wires) for (let k = 0; k < 3; k++) await w.client.enqueueBatch(make());
for (let r = 0; r < batches; r++) {
  // Each goes first every other round.
  for (const w of r % 2 ? wires : [...wires].reverse()) {
    const b = make();
    const t0 = performance.now();
    await w.client.enqueueBatch(b);
    const t1 = performance.now();
    w.total.push(t1 - t0);
    w.wire.push(messageAt - t0);
    w.after.push(t1 - messageAt);
  }
}
const q = (a: number[], p: number) => {
  const sorted = a.slice().sort((x, y) => x - y);
  return sorted[Math.floor(p * (sorted.length - 1))]!.toFixed(2);
};
for (const w of wires)
  console.log(
    `${w.name}: ms per batch p10 ${q(w.total, 0.1)} p50 ${q(w.total, 0.5)} p90 ${q(w.total, 0.9)}; call -> answer message p50 ${q(w.wire, 0.5)}; message -> resolved p50 ${q(w.after, 0.5)}`,
  );
for (const w of wires) {
  await w.client.close();
  await w.transport.close();
}
await server.stop();
