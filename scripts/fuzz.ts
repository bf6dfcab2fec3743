/**
 * The long fuzz run (`npm run fuzz`): 10 000+ requests spread over every HTTP
 * route and every gRPC method, with the same inputs as the fuzz tests, against
 * one embedded server. Writes a JSON report (default fuzz-report.json, not
 * tracked) with the answers per route and method, every failure (a 5xx, an
 * INTERNAL/UNKNOWN, a call without an answer), the time taken and memory
 * before and after. Exits 1 when anything failed or the server stopped
 * answering.
 *
 *   npm run fuzz -- [--requests 10000] [--seed 1] [--minutes 10] [--out fuzz-report.json]
 */
import fc from "fast-check";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startServer } from "../src/server/index.js";
import {
  collectGarbage,
  grpcBody,
  grpcMethods,
  grpcSend,
  httpBody,
  httpRouteTable,
  httpSend,
  pathFor,
  SERVER_FAULT_CODES,
  strayPath,
} from "../test/support/fuzz.js";
import { closeSession, frame, grpcCall, grpcSession } from "../test/support/wire-calls.js";
import { serverCore } from "../src/server/internal.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "10000" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
    minutes: { type: "string", default: "10" },
    out: { type: "string", default: "fuzz-report.json" },
  },
});
const total = Number(values.requests);
const seed = Number(values.seed);
const deadline = Date.now() + Number(values.minutes) * 60_000;

const server = await startServer({ port: 0, limits: { maxMessageBytes: 256 * 1024, maxQueuedBytes: 8 * 1024 * 1024 } });
let session = grpcSession(server.url);
const routes = httpRouteTable();
const methods = grpcMethods();

type Case =
  | { kind: "http"; method: string; path: string; body: Buffer | undefined; contentType: string | undefined; key: string }
  | { kind: "grpc"; path: string; body: Buffer; key: string; index: number };
const httpCase = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...routes).chain((r) => fc.record({ r: fc.constant(r), path: pathFor(r.pattern), b: httpBody })) },
  { weight: 1, arbitrary: fc.record({ r: fc.constant({ method: "GET", pattern: "(stray path)" }), path: strayPath, b: httpBody }) },
);
const grpcCase = fc.integer({ min: 0, max: methods.length - 1 }).chain((i) => fc.record({ i: fc.constant(i), body: grpcBody(methods[i]!) }));
const anyCase: fc.Arbitrary<Case> = fc.oneof(
  httpCase.map(({ r, path, b }): Case => ({
    kind: "http",
    method: r.method,
    path,
    body: r.method === "GET" || r.method === "DELETE" ? undefined : b.body,
    contentType: b.contentType,
    key: `${r.method} ${r.pattern}`,
  })),
  grpcCase.map(({ i, body }): Case => ({ kind: "grpc", path: methods[i]!.path, body, key: methods[i]!.path, index: i })),
);

collectGarbage();
const heapBefore = process.memoryUsage().heapUsed;
const started = Date.now();
const answers: Record<string, Record<string, number>> = {};
const failures: Array<{ case: string; answer: string; input: string }> = [];
let sent = 0;
const BATCH = 200;

function note(key: string, answer: string): void {
  const m = (answers[key] ??= {});
  m[answer] = (m[answer] ?? 0) + 1;
}

while (sent < total && Date.now() < deadline) {
  const cases = fc.sample(anyCase, { numRuns: Math.min(BATCH, total - sent), seed: seed + sent });
  for (const c of cases) {
    sent++;
    try {
      if (c.kind === "http") {
        const r = await httpSend(server.url, c.method, c.path, c.body, c.contentType, 100);
        note(c.key, String(r.status));
        if (r.status >= 500 && !(r.status === 503 && c.path.startsWith("/ready")))
          failures.push({
            case: `${c.method} ${c.path}`,
            answer: `${r.status} ${r.text.slice(0, 300)}`,
            input: (c.body ?? Buffer.alloc(0)).subarray(0, 300).toString("utf8"),
          });
      } else {
        if (session.destroyed || session.closed) session = grpcSession(server.url);
        const r = await grpcSend(session, methods[c.index]!, c.body, 100);
        const answer = r.status ?? (r.rstCode !== undefined ? `rst ${r.rstCode}` : "none");
        note(c.key, answer);
        if (r.status !== undefined && SERVER_FAULT_CODES.has(r.status))
          failures.push({ case: c.path, answer: `${r.status} ${r.message ?? ""}`, input: c.body.subarray(0, 200).toString("hex") });
      }
    } catch (e) {
      note(c.key, "no answer");
      failures.push({ case: c.key, answer: `no answer: ${(e as Error).message}`, input: "" });
    }
  }
}

const health = await httpSend(server.url, "GET", "/health", undefined, undefined).catch(() => ({ status: 0, text: "" }));
const grpcHealth = await grpcCall(session, "/ojs.v1.OJSService/Health", frame(new Uint8Array(0))).catch(() => ({ status: undefined }));
server.reset();
collectGarbage();
const heapAfter = process.memoryUsage().heapUsed;
const report = {
  seed,
  requests: sent,
  seconds: Math.round((Date.now() - started) / 100) / 10,
  routes: routes.length,
  methods: methods.length,
  failures: failures.length,
  serverAlive: health.status === 200 && grpcHealth.status === "0",
  heapMiB: { before: Math.round(heapBefore / 2 ** 20), after: Math.round(heapAfter / 2 ** 20) },
  http5xxCounted: serverCore(server).counters.get("5xx") ?? 0,
  failureSamples: failures.slice(0, 50),
  answers,
};
writeFileSync(values.out!, JSON.stringify(report, null, 2) + "\n");
await closeSession(session);
await server.close();
console.log(
  `fuzz: ${sent} requests in ${report.seconds} s (seed ${seed}), ${failures.length} failures, server ${report.serverAlive ? "alive" : "DOWN"}, heap ${report.heapMiB.before} -> ${report.heapMiB.after} MiB; report in ${values.out}`,
);
process.exit(failures.length === 0 && report.serverAlive ? 0 : 1);
