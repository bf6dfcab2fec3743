/**
 * The floor under a sequential enqueue (issue 13, item 4): one caller awaiting
 * each call on loopback, five ways, in alternation, fresh processes for every
 * case of every round (bench/seq-floor-child.ts):
 *
 *   own-h2/bare    our HTTP/2 client (src/transport/h2) sending the real request's bytes to a bare
 *                  node:http2 server that answers each with the real answer's bytes: the transport floor;
 *   node-h2/bare   the same with node:http2's client (the bench ceiling's pipelined case);
 *   own-h2/ojs     our HTTP/2 client, the same bytes, to our real server (memory store, fast path):
 *                  the server's own work, with no client SDK in front;
 *   client/ojs     Client.enqueue against our real server: the bench's sequential enqueue;
 *   bullmq         BullMQ's Queue.add against a private redis-server (no persistence).
 *
 * Per case: calls/s, p50 and p99 of a call, CPU per call of the caller's process and of the
 * server's (every thread, schedstat). `--base=DIR` adds, for every case on our server, the same
 * case on another checkout (`<case>@base`: its bench/server.ts, and its src/ for Client), in the
 * same rounds, for A/B. Prints one JSON line per measurement and a table of medians, with the load
 * average before and after.
 *
 *   npx tsx bench/seq-floor.ts [--rounds=5] [--calls=5000] [--warm=3000] [--cases=a,b,...] [--base=DIR]
 */
import { fileURLToPath } from "node:url";
import { relative, resolve } from "node:path";
import { encodeEnqueueStreamRequest, ENQUEUE_ANSWER_HEADER } from "../src/codec/wire/index.js";
import { normalizeJobRequest } from "../src/model/schemas.js";
import { startServer } from "../src/server/index.js";
import { H2Client } from "../src/transport/h2/client.js";
import { h2OpenRawStream } from "../src/transport/grpc/h2-raw.js";
import { JOB_TYPE, payload } from "./common.js";
import { loadAverage } from "./machine.js";
import { forkScript, installExitHandlers, onCleanup, type Child } from "./procs.js";
import { startRedis } from "./redis.js";
import type { FloorClientSpec, FloorResult } from "./seq-floor-child.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const rounds = Number(arg("rounds") ?? 5);
const calls = Number(arg("calls") ?? 5_000);
const warm = Number(arg("warm") ?? 3_000);
const base = arg("base");
const ALL = ["own-h2/bare", "node-h2/bare", "own-h2/ojs", "client/ojs", "bullmq"];
const asked = arg("cases")?.split(",") ?? ALL;
for (const c of asked) if (!ALL.includes(c)) throw new Error(`unknown case ${c}; known: ${ALL.join(", ")}`);
const cases = asked.concat(base ? asked.filter((c) => c.endsWith("/ojs")).map((c) => `${c}@base`) : []);

installExitHandlers();

/** The real request (the bench's payload and `{ queue }`) and the real server's assigned answer to it, as bytes. */
async function realExchange(): Promise<{ request: Uint8Array; answer: Uint8Array }> {
  const request = encodeEnqueueStreamRequest([
    { seq: 5_000, request: normalizeJobRequest({ type: JOB_TYPE, args: payload(5_000), options: { queue: "seq" } }) },
  ]);
  const server = await startServer({ port: 0 });
  const h2c = new H2Client(new URL(server.url), { pingIntervalMs: 60_000, pingTimeoutMs: 15_000 });
  try {
    const answer = await new Promise<Uint8Array>((resolveAnswer, reject) => {
      void h2OpenRawStream(
        h2c,
        "/ojsconnect.v1.FastPathService/EnqueueStream",
        { [ENQUEUE_ANSWER_HEADER]: "assigned" },
        {
          message: (m) => resolveAnswer(Uint8Array.from(m)),
          end: (e) => reject(e ?? new Error("the stream ended before the answer")),
        },
      ).then((s) => s.send(request));
    });
    return { request, answer };
  } finally {
    h2c.close();
    await server.close();
  }
}

interface Backend {
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

async function startBackend(kind: string): Promise<Backend> {
  if (kind === "bullmq") {
    const r = await startRedis((s) => console.error(s));
    if ("skipped" in r) throw new Error(r.skipped);
    onCleanup(() => r.killNow());
    return { url: r.url, pids: [r.pid!], stop: () => r.stop() };
  }
  let child: Child;
  if (kind === "bare") child = forkScript("seq-floor-child.ts", ["bare-server", JSON.stringify({ answerHex })]);
  // forkScript resolves scripts in this directory: the base's server by a path relative to it.
  else if (kind === "ojs@base") child = forkScript(relative(here, resolve(base!, "bench/server.ts")), []);
  else child = forkScript("server.ts", []);
  const { url } = await child.next<{ url: string }>("ready", 30_000);
  return { url: url!, pids: [child.proc.pid!], stop: () => child.stop() };
}

const { request, answer } = await realExchange();
const requestHex = Buffer.from(request).toString("hex");
const answerHex = Buffer.from(answer).toString("hex");
const load0 = loadAverage();
console.log(JSON.stringify({ requestBytes: request.length + 5, answerBytes: answer.length + 5, calls, warm, rounds, cases, load: load0 }));

const results = new Map<string, FloorResult[]>();
for (let r = 0; r < rounds; r++) {
  // Rotated each round, and with more than two cases reversed every other one: no case always runs
  // first, or always after the same one (two cases alternate by the rotation alone).
  const rot = cases.map((_, k) => cases[(k + r) % cases.length]!);
  const order = r % 2 && cases.length > 2 ? rot.reverse() : rot;
  for (const c of order) {
    const [kind, backendKind] = c === "bullmq" ? ["bullmq", "bullmq"] : c.split("/");
    const backend = await startBackend(backendKind!);
    try {
      const spec: FloorClientSpec = {
        kind: kind as FloorClientSpec["kind"],
        url: backend.url,
        serverPids: backend.pids,
        calls,
        warm,
        requestHex,
        root: c.endsWith("@base") ? resolve(base!) : resolve(here, ".."),
      };
      const client = forkScript("seq-floor-child.ts", ["client", JSON.stringify(spec)]);
      const res = await client.next<FloorResult>("result", 120_000);
      console.log(JSON.stringify({ round: r + 1, case: c, ...res, load1: loadAverage()[0] }));
      results.set(c, [...(results.get(c) ?? []), res]);
    } finally {
      await backend.stop();
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const bull = results.get("bullmq");
console.log(`\nload average before ${load0.join(" ")}, after ${loadAverage().join(" ")}; medians of ${rounds} rounds`);
console.log("| case | calls/s [low-high] | x BullMQ (median of per-round ratios) | p50 µs | p99 µs | client CPU µs/call | server CPU µs/call |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const c of cases) {
  const rs = results.get(c) ?? [];
  if (!rs.length) continue;
  const rates = rs.map((x) => x.callsPerSec);
  const ratio = bull ? median(rs.map((x, i) => x.callsPerSec / (bull[i]?.callsPerSec ?? NaN)).filter(Number.isFinite)).toFixed(2) : "n/a";
  console.log(
    `| ${c} | ${Math.round(median(rates))} [${Math.min(...rates)}-${Math.max(...rates)}] | ${ratio} | ${Math.round(median(rs.map((x) => x.p50Us)))} | ${Math.round(median(rs.map((x) => x.p99Us)))} | ${median(rs.map((x) => x.clientUsPerCall)).toFixed(1)} | ${median(rs.map((x) => x.serverUsPerCall)).toFixed(1)} |`,
  );
}
for (const c of cases.filter((x) => x.endsWith("@base"))) {
  const ours = results.get(c.slice(0, -5)) ?? [];
  const theirs = results.get(c) ?? [];
  const ratios = ours.map((x, i) => x.callsPerSec / (theirs[i]?.callsPerSec ?? NaN)).filter(Number.isFinite);
  if (ratios.length)
    console.log(
      `${c.slice(0, -5)} / ${c}: calls/s ratio, median of per-round ratios ${median(ratios).toFixed(3)} [${ratios.map((x) => x.toFixed(2)).join(" ")}]`,
    );
}
process.exit(0);
