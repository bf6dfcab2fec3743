/**
 * The physical ceiling: bare node:http2 between two processes on loopback, one
 * session, request/response pairs with the byte sizes of a real Enqueue call
 * (protobuf request and response, gRPC framing), at the concurrencies the SDK
 * scenarios use. No codec, no routing, no store: what node's HTTP/2 alone costs.
 *
 *   ceiling.ts server {"responseBytes":N}              -> ready {url}
 *   ceiling.ts client {"url":..., "requestBytes":N, "modes":[{"name","n","concurrency"}]}
 */
import { connect, createServer, constants as h2 } from "node:http2";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { childSetup, mark, mb, percentiles, rate, runChild, send, type Percentiles, type Rate } from "./common.js";

export interface CeilingMode {
  name: string;
  n: number;
  concurrency: number;
}
export interface CeilingResult {
  modes: Record<string, Rate & { concurrency: number; rtt?: Percentiles }>;
  peakRssMB: number;
  /** CPU of the bare server per request, over every mode (filled in by the orchestrator). */
  serverCpuUsPerOp?: number;
}

const [role, json] = process.argv.slice(2);
const cfg = JSON.parse(json ?? "{}") as { responseBytes?: number; url?: string; requestBytes?: number; modes?: CeilingMode[] };

if (role === "server") {
  childSetup();
  const body = Buffer.alloc(cfg.responseBytes ?? 0, 7);
  const server = createServer();
  server.on("stream", (stream) => {
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, "content-type": "application/grpc" });
      stream.end(body);
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
    const body = Buffer.alloc(cfg.requestBytes ?? 0, 7);
    const call = () =>
      new Promise<void>((resolve, reject) => {
        const req = session.request({ [h2.HTTP2_HEADER_METHOD]: "POST", [h2.HTTP2_HEADER_PATH]: "/ojs.v1.OJSService/Enqueue", "content-type": "application/grpc" });
        req.on("data", () => {});
        req.on("end", resolve);
        req.on("error", reject);
        req.end(body);
      });
    for (let i = 0; i < 500; i++) await call();
    const modes: CeilingResult["modes"] = {};
    for (const m of cfg.modes ?? []) {
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
      modes[m.name] = { ...rate(m.n, t0), concurrency: m.concurrency, ...(m.concurrency === 1 ? { rtt: percentiles(rtts) } : {}) };
    }
    session.close();
    return { modes, peakRssMB: mb(process.resourceUsage().maxRSS * 1024) } satisfies CeilingResult;
  });
}
