/**
 * The `logger` option: one line per connection episode (lost, again every
 * minute, regained), per failed handler, per server fault; `false` silences;
 * any object with info/warn/error receives the lines.
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Client, Worker, type ServerError } from "../../src/index.js";
import { startServer, type OjsServer } from "../../src/server/index.js";
import { ConnectionWatch } from "../../src/util/connection-watch.js";
import type { Logger } from "../../src/util/logger.js";
import { TRANSPORTS, eventually, uniqueQueue, useServer } from "../helpers.js";
import { serverCore } from "../../src/server/internal.js";

type Line = { level: "info" | "warn" | "error"; message: string };
function capture(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    info: (message) => void lines.push({ level: "info", message }),
    warn: (message) => void lines.push({ level: "warn", message }),
    error: (message) => void lines.push({ level: "error", message }),
  };
}

/** A port nothing listens on (bound, read, released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const ctx = useServer({ logger: false });

describe("ConnectionWatch", () => {
  it("says lost once, again after each minute of failures, then regained once", () => {
    let now = 0;
    const log = capture();
    const w = new ConnectionWatch(log, "w", 60_000, () => now);
    w.ok();
    for (let i = 0; i < 10; i++, now += 5_000) w.failed(new Error("ECONNREFUSED"));
    expect(log.lines).toEqual([{ level: "warn", message: "w: cannot reach the server (ECONNREFUSED); retrying" }]);
    for (let i = 0; i < 3; i++, now += 5_000) w.failed(new Error("ECONNREFUSED"));
    expect(log.lines).toHaveLength(2);
    expect(log.lines[1]!.message).toBe("w: still cannot reach the server after 60 s and 13 failed attempts (ECONNREFUSED); retrying");
    w.ok();
    w.ok();
    expect(log.lines.slice(2)).toEqual([{ level: "info", message: "w: connection to the server regained after 65 s" }]);
  });
});

describe.each(TRANSPORTS)("Worker logger over %s", (transport) => {
  let late: OjsServer | undefined;
  afterEach(async () => {
    await late?.close();
    late = undefined;
  });

  it("a worker that cannot reach its server says so once, keeps retrying, and says when it is back", async () => {
    const port = await freePort();
    const log = capture();
    const w = new Worker({ url: `http://127.0.0.1:${port}`, transport, queues: [uniqueQueue()], handleSignals: false, heartbeatIntervalMs: 100, logger: log });
    let failures = 0;
    w.on("error", () => void failures++);
    w.on("stream.reconnect", () => void failures++);
    w.register("x.y", async () => null);
    void w.start();
    try {
      await eventually(() => failures >= 4, 10_000);
      const warnings = log.lines.filter((l) => l.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(
        new RegExp(`^ojs-connect worker \\S+ -> http://127\\.0\\.0\\.1:${port}: cannot reach the server \\(.+\\); retrying$`),
      );
      late = await startServer({ port, logger: false });
      await eventually(() => log.lines.some((l) => l.level === "info"), 10_000);
      expect(log.lines.find((l) => l.level === "info")!.message).toMatch(/connection to the server regained after \d+ s$/);
      expect(log.lines).toHaveLength(2);
    } finally {
      await w.stop();
    }
  });

  it("each failed handler is one error line with the job, its type, its attempt and the error", async () => {
    const log = capture();
    const queue = uniqueQueue();
    const w = new Worker({ url: ctx.url, transport, queues: [queue], handleSignals: false, logger: log });
    w.register("will.fail", async () => {
      throw new TypeError("cannot read properties of undefined\n  at handler");
    });
    const c = new Client({ url: ctx.url, transport, logger: false });
    void w.start();
    try {
      const job = await c.enqueue("will.fail", [], { queue, retry: { maxAttempts: 1 } });
      await c.waitForJob(job.id, { timeoutMs: 10_000 });
      await eventually(() => log.lines.length > 0);
      expect(log.lines).toEqual([
        {
          level: "error",
          message: expect.stringMatching(
            new RegExp(`: job ${job.id} \\(will\\.fail, attempt 1\\) failed after \\d+ ms: cannot read properties of undefined at handler$`),
          ),
        },
      ]);
    } finally {
      await w.stop();
      await c.close();
    }
  });
});

describe("Worker logger at shutdown", () => {
  it("jobs still running past the grace period are one line at stop, not one per job", async () => {
    const log = capture();
    const queue = uniqueQueue();
    const w = new Worker({ url: ctx.url, transport: "http", queues: [queue], handleSignals: false, logger: log });
    let started = 0;
    w.register("stuck.job", (jobCtx) => {
      started++;
      return new Promise((_, reject) => jobCtx.signal.addEventListener("abort", () => reject(jobCtx.signal.reason)));
    });
    const c = new Client({ url: ctx.url, transport: "http", logger: false });
    try {
      for (let i = 0; i < 3; i++) await c.enqueue("stuck.job", [], { queue });
      void w.start();
      await eventually(() => started === 3);
      await w.stop({ gracePeriodMs: 50 });
      expect(log.lines).toEqual([
        { level: "warn", message: expect.stringMatching(/: stopped with 3 jobs still running past the grace period; handed back to the server for retry$/) },
      ]);
    } finally {
      await c.close();
    }
  });
});

describe("Client logger", () => {
  it.each(TRANSPORTS)("over %s: calls to an unreachable server are one line per episode, not per call", async (transport) => {
    const port = await freePort();
    const log = capture();
    const c = new Client({ url: `http://127.0.0.1:${port}`, transport, logger: log });
    let late: OjsServer | undefined;
    try {
      for (let i = 0; i < 3; i++) await expect(c.health()).rejects.toMatchObject({ code: "unavailable" });
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]!.message).toMatch(new RegExp(`^ojs-connect client -> http://127\\.0\\.0\\.1:${port}: cannot reach the server`));
      late = await startServer({ port, logger: false });
      await c.health();
      await c.health();
      expect(log.lines.map((l) => l.level)).toEqual(["warn", "info"]);
    } finally {
      await c.close();
      await late?.close();
    }
  });
});

describe("default logger and false", () => {
  it("the default writes one line to stderr; logger: false writes nothing", async () => {
    const port = await freePort();
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (writes.push(String(chunk)), true));
    try {
      const loud = new Client({ url: `http://127.0.0.1:${port}`, transport: "http" });
      const quiet = new Client({ url: `http://127.0.0.1:${port}`, transport: "http", logger: false });
      for (const c of [loud, quiet, loud, quiet]) await c.health().catch(() => undefined);
      await loud.close();
      await quiet.close();
    } finally {
      spy.mockRestore();
    }
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^ojs-connect client -> http:\/\/127\.0\.0\.1:\d+: cannot reach the server \(.*\); retrying\n$/);
  });
});

describe("server logger", () => {
  it.each(TRANSPORTS)("a server fault answered over %s is one error line naming the route and request", async (transport) => {
    const log = capture();
    const server = await startServer({ logger: log });
    // A fault the server cannot be made to have on cue: its health check breaks.
    serverCore(server).health = () => {
      throw new Error("disk on fire");
    };
    const c = new Client({ url: server.url, transport, logger: false });
    try {
      const e = (await c.health().catch((x: unknown) => x)) as ServerError;
      expect(e.retryable).toBe(true);
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]!.level).toBe("error");
      expect(log.lines[0]!.message).toMatch(
        transport === "http"
          ? /^ojs-connect server: GET \/ojs\/v1\/health \(request \S+, 500\) failed: disk on fire$/
          : /^ojs-connect server: gRPC Health \(request \S*\) failed: disk on fire$/,
      );
      // Mistakes of the caller are not faults of the server: no line.
      await c.getJob("01900000-0000-7000-8000-000000000000").catch(() => undefined);
      expect(log.lines).toHaveLength(1);
    } finally {
      await c.close();
      await server.close();
    }
  });
});
