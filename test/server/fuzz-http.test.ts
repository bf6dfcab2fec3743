/**
 * Property-based fuzzing of every route of the HTTP binding (the list comes
 * from the router's own table): arbitrary JSON, bytes and paths never get a
 * 5xx, the server keeps answering, and memory comes back once it is over.
 * The longer run is `npm run fuzz` (scripts/fuzz.ts).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { collectGarbage, httpBody, httpRouteTable, httpSend, pathFor, strayPath } from "../support/fuzz.js";
import { serverCore } from "../../src/server/internal.js";

let server: OjsServer;
/** Heap in use after a full collection, before any fuzzing. */
let baselineHeap = 0;
beforeAll(async () => {
  collectGarbage();
  baselineHeap = process.memoryUsage().heapUsed;
  // Small limits so that fuzzed bodies meet them often.
  server = await startServer({ port: 0, limits: { maxMessageBytes: 64 * 1024, maxQueuedBytes: 1024 * 1024 } });
});
afterAll(async () => {
  await server.close();
});

const routes = httpRouteTable();

describe("HTTP fuzzing", () => {
  it("the route table is read from the router (so new routes are fuzzed too)", () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes).toContainEqual({ method: "POST", pattern: "/ojs/v1/jobs" });
  });

  it("every route, arbitrary bodies and parameters: no 5xx, no crash", async () => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes).chain((r) => fc.record({ route: fc.constant(r), path: pathFor(r.pattern), body: httpBody })),
        async ({ route, path, body }) => {
          const r = await httpSend(
            server.url,
            route.method,
            path,
            route.method === "GET" || route.method === "DELETE" ? undefined : body.body,
            body.contentType,
          );
          if (r.status >= 500 && !(r.status === 503 && path.startsWith("/ready")))
            failures.push(`${route.method} ${path} -> ${r.status} ${r.text.slice(0, 200)}`);
          expect(r.status).toBeGreaterThanOrEqual(200);
        },
      ),
      { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? 10) },
    );
    expect(failures).toEqual([]);
  });

  it("paths no route has (doubled slashes, odd bytes): 404 or 400, never another route or a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(strayPath, fc.constantFrom("GET", "POST", "PUT", "DELETE"), async (path, method) => {
        const r = await httpSend(server.url, method, path, undefined, undefined);
        const known = routes.some((x) => x.pattern === path.split("?")[0]);
        if (!known) expect([400, 404, 405]).toContain(r.status);
        expect(r.status).toBeLessThan(500);
      }),
      { numRuns: 200, seed: 11 },
    );
    for (const path of ["//", "//ojs/v1/health", "//x:99999/a", "/ojs//v1/health", "//ojs/v1/jobs/abc"]) {
      const r = await httpSend(server.url, "GET", path, undefined, undefined);
      expect(r.status, path).toBe(404);
    }
  });

  it("afterwards: no 5xx counted, the server answers, memory is back within bounds", async () => {
    expect(serverCore(server).counters.get("5xx") ?? 0).toBe(0);
    const health = await httpSend(server.url, "GET", "/health", undefined, undefined);
    expect(health.status).toBe(200);
    server.reset();
    collectGarbage();
    // The fuzzed requests are gone; what the process holds is its baseline plus test code.
    // What the fuzzed requests left behind is gone: the heap is back near where it started.
    expect(process.memoryUsage().heapUsed - baselineHeap).toBeLessThan(64 * 1024 * 1024);
    expect(serverCore(server).queued.total).toBe(0);
  });
});
