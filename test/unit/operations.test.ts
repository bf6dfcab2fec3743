/**
 * The operation table says once what each OJS operation is. These tests hold
 * it to what the code does: the HTTP transport sends each operation with the
 * verb and path the table gives (a loopback server records them), and the
 * Client's retry safety is the table's.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport } from "../../src/transport/http/transport.js";
import { OPERATIONS, retrySafe, type OperationName } from "../../src/transport/operations.js";
import { CALLS } from "./operation-calls.js";

const fill = (path: string) =>
  path
    .replace("[/{version}]", "")
    .replace("{id}", "ID")
    .replace("{queue}", "QUEUE")
    .replace("{name}", "NAME")
    .replace("{type}", "TYPE")
    .replace("{version}", "VERSION");

describe("operation table", () => {
  let server: Server;
  let transport: HttpTransport;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${(req.url ?? "").split("?")[0]}`);
      req.resume();
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    transport = new HttpTransport({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    await transport.close();
    await new Promise((r) => server.close(r));
  });

  it.each(Object.keys(OPERATIONS) as OperationName[])("%s goes over HTTP as the table says", async (op) => {
    seen.length = 0;
    // The empty answers may not decode: only the request matters here.
    await CALLS[op](transport).catch(() => undefined);
    const { method, path } = OPERATIONS[op].http;
    expect(seen).toEqual([`${method} ${fill(path)}`]);
  });

  it("the Client retries exactly the operations the table calls idempotent", () => {
    expect(retrySafe("getJob")).toBe(true);
    expect(retrySafe("cancelJob")).toBe(false);
    expect(retrySafe("enqueue")).toBe(false);
    expect(retrySafe("enqueue", true)).toBe(true);
    for (const op of Object.keys(OPERATIONS) as OperationName[]) {
      const { idempotent } = OPERATIONS[op];
      expect(retrySafe(op, true)).toBe(idempotent !== false);
      expect(retrySafe(op, false)).toBe(idempotent === true);
      // A read never changes anything: every GET must be retryable.
      if (OPERATIONS[op].http.method === "GET") expect(idempotent, op).toBe(true);
    }
  });
});
