/**
 * `ojs-connect serve` flags for the journal store, the dashboard, the limits and
 * the connection options: each lands in the startServer option it names, and a
 * bad value is refused naming the flag.
 */
import { describe, expect, it } from "vitest";
import { serveOptions } from "../../src/cli.js";
import { DEFAULT_LIMITS } from "../../src/server/index.js";

describe("serve flags", () => {
  it("the dashboard is on unless --no-ui", () => {
    expect(serveOptions([], {})).toMatchObject({ ui: true });
    expect(serveOptions(["--no-ui"], {})).toMatchObject({ ui: false });
  });

  it("--data and --fsync choose the journal store; --fsync alone is refused", () => {
    expect(serveOptions(["--data", "/tmp/ojs-data", "--fsync", "none"], {})).toMatchObject({ dataDir: "/tmp/ojs-data", fsync: "none" });
    expect(serveOptions([], { OJS_DATA_DIR: "/srv/ojs" })).toMatchObject({ dataDir: "/srv/ojs" });
    expect(serveOptions([], {})).not.toHaveProperty("dataDir");
    expect(() => serveOptions(["--fsync", "none"], {})).toThrow(/--fsync: needs --data/);
  });

  it("every limit has a flag, and they combine", () => {
    const o = serveOptions(
      [
        "--max-depth",
        "10",
        "--max-message-bytes",
        "2048",
        "--max-args-bytes",
        "1024",
        "--max-meta-bytes",
        "512",
        "--max-batch-jobs",
        "5",
        "--max-result-bytes",
        "256",
        "--max-queued-bytes",
        "4096",
      ],
      {},
    );
    expect(o).toMatchObject({
      limits: { maxDepth: 10, maxMessageBytes: 2048, maxArgsBytes: 1024, maxMetaBytes: 512, maxBatchJobs: 5, maxResultBytes: 256, maxQueuedBytes: 4096 },
    });
    expect(Object.keys((o as { limits: object }).limits).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
    expect(() => serveOptions(["--max-depth", "0"], {})).toThrow(/--max-depth: must be a whole number/);
  });

  it("connection and in-flight options have flags", () => {
    expect(
      serveOptions(
        [
          "--headers-timeout-ms",
          "1000",
          "--idle-timeout-ms",
          "2000",
          "--max-connections",
          "10",
          "--max-streams-per-connection",
          "7",
          "--keepalive-interval-ms",
          "300",
          "--keepalive-timeout-ms",
          "400",
          "--max-in-flight-per-stream",
          "3",
          "--max-in-flight-per-worker",
          "4",
        ],
        {},
      ),
    ).toMatchObject({
      headersTimeoutMs: 1000,
      idleTimeoutMs: 2000,
      maxConnections: 10,
      maxStreamsPerConnection: 7,
      keepaliveIntervalMs: 300,
      keepaliveTimeoutMs: 400,
      maxInFlightPerStream: 3,
      maxInFlightPerWorker: 4,
    });
  });
});
