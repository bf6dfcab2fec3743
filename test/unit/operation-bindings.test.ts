/**
 * Every row of the operation table is reachable on both transports: each
 * transport's named operation methods are exactly the table's rows, our
 * server serves each row's HTTP verb and path, and each row answers over gRPC
 * (its ojs.v1 RPC, or the HTTP binding for "http" rows) without Unimplemented.
 * A row without its method, or a path or RPC the server lacks, fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { OjsError, UnimplementedError } from "../../src/model/errors.js";
import { isJsonObject } from "../../src/model/json.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { HttpTransport } from "../../src/transport/http/transport.js";
import { OPERATIONS, type OperationName } from "../../src/transport/operations.js";
import { ADMIN_OPERATIONS } from "../../src/transport/http/admin.js";
import { WEBHOOK_OPERATIONS } from "../../src/transport/http/webhooks.js";
import { CALLS, type TableTransport } from "./operation-calls.js";

/** The admin-api and webhooks tables: HTTP only (the gRPC transport forwards them to its HTTP binding). */
const EXTENSION_ROWS = [
  ...Object.entries(ADMIN_OPERATIONS).map(([name, row]) => ({ name: `admin.${name}`, method: row.method, path: row.path })),
  ...Object.entries(WEBHOOK_OPERATIONS).map(([name, row]) => ({ name: `webhooks.${name}`, method: row.method, path: row.path })),
];

const ROWS = Object.keys(OPERATIONS) as OperationName[];

/** Methods of the transports that are not operations of the table: streams, lifecycle, plumbing. */
const NOT_ROWS = new Set([
  "constructor",
  "run",
  "unary",
  "send",
  "sendAfterProbe",
  "withKind",
  "fastOr",
  "request",
  "exchange",
  "call",
  "server",
  "callOptions",
  "http",
  "started",
  "streamJobs",
  "streamJobsConnect",
  "streamEvents",
  "close",
]);

function methodsOf(o: object): Set<string> {
  const out = new Set<string>();
  for (let p = Object.getPrototypeOf(o) as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null)
    for (const k of Object.getOwnPropertyNames(p)) if (typeof (p as Record<string, unknown>)[k] === "function") out.add(k);
  return out;
}

/** Placeholders filled with a value of their kind (an enumerated path segment needs a real one). */
const SEGMENTS: Record<string, string> = { action: "retry", directive: "quiet" };
const fill = (path: string) => path.replace("[/{version}]", "").replace(/\{(\w+)\}/g, (_, k: string) => SEGMENTS[k] ?? k.toUpperCase());

describe("every operation of the table is reachable on both transports", () => {
  let server: OjsServer;
  let http: HttpTransport;
  let grpc: GrpcTransport;

  beforeAll(async () => {
    server = await startServer({ port: 0 });
    http = new HttpTransport({ url: server.url });
    grpc = new GrpcTransport({ url: server.url });
  }, 60_000);
  afterAll(async () => {
    await http?.close();
    await grpc?.close();
    await server?.close();
  });

  it("the gRPC transport's admin and webhooks offer every method of their tables", () => {
    const t = new GrpcTransport({ url: "http://127.0.0.1:1" });
    for (const name of Object.keys(ADMIN_OPERATIONS)) expect(typeof (t.admin as unknown as Record<string, unknown>)[name], name).toBe("function");
    for (const name of Object.keys(WEBHOOK_OPERATIONS)) expect(typeof (t.webhooks as unknown as Record<string, unknown>)[name], name).toBe("function");
  });

  it("each transport's operation methods are exactly the table's rows", () => {
    for (const t of [new HttpTransport({ url: "http://127.0.0.1:1" }), new GrpcTransport({ url: "http://127.0.0.1:1" })]) {
      const ops = [...methodsOf(t)].filter((m) => !NOT_ROWS.has(m)).sort();
      expect(ops, t.name).toEqual([...ROWS].sort());
    }
  });

  it.each([...ROWS.map((op) => ({ name: op, ...OPERATIONS[op].http })), ...EXTENSION_ROWS])(
    "$name: our server serves its HTTP verb and path",
    async ({ name: op, method, path }) => {
      const res = await http.request(method, fill(path), method === "GET" || method === "DELETE" ? undefined : {}, undefined, op);
      // A route the server lacks answers 404 with the "no such endpoint" hint, or 405.
      const hint = isJsonObject(res.body) && isJsonObject(res.body.error) ? res.body.error.hint : undefined;
      expect(String(hint ?? ""), `${method} ${path}`).not.toMatch(/No such endpoint/);
      expect(res.status, `${method} ${path}`).not.toBe(405);
    },
  );

  it.each(ROWS)("%s: answers over gRPC (its RPC, or the HTTP binding where ojs.v1 has none)", async (op) => {
    const row = OPERATIONS[op].grpc;
    if (typeof row === "object") expect(OJSService.method[row.rpc], row.rpc).toBeDefined();
    const outcome = await CALLS[op](grpc as TableTransport).then(
      () => "answered",
      (e: unknown) => e,
    );
    // An error about the placeholder arguments (no such job) is an answer; Unimplemented is not.
    if (outcome !== "answered") {
      expect(outcome).toBeInstanceOf(OjsError);
      expect(outcome, op).not.toBeInstanceOf(UnimplementedError);
    }
  });
});
