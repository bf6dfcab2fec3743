/**
 * Retention with the journal store: a queue's rule survives a restart and
 * applies to the finished jobs that come back with it. Over each transport,
 * against a real server restarted on the same data directory.
 */
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../support/temp-dirs.js";
import { Client } from "../../src/index.js";
import { startServer } from "../../src/server/server.js";
import { eventually, TRANSPORTS } from "../helpers.js";

const tempDir = useTempDirs("ojs-ret-journal-");

describe.each(TRANSPORTS)("retention in the journal, over %s", (transport) => {
  it("a queue's rule survives a restart and keeps applying", async () => {
    const dataDir = tempDir();
    let server = await startServer({ port: 0, dataDir });
    let client = new Client({ url: server.url, transport });
    const rule = { completed: { count: 2, age: 86_400_000 }, discarded: { age: 3_600_000 } };
    try {
      await client.admin.setRetention("rj", rule);
    } finally {
      await client.close();
      await server.close();
    }
    server = await startServer({ port: 0, dataDir });
    client = new Client({ url: server.url, transport });
    try {
      expect((await client.admin.getQueue("rj")).configuration.retention).toEqual(rule);
      for (let i = 0; i < 4; i++) {
        const job = await client.enqueue("t.rj", [i], { queue: "rj" });
        await client.transport.fetch({ queues: ["rj"], count: 1, workerId: "w" });
        await client.transport.ack({ jobId: job.id, workerId: "w" });
      }
      await eventually(async () => (await client.admin.getQueue("rj")).counts.completed === 2, 5000);
    } finally {
      await client.close();
      await server.close();
    }
  }, 20_000);
});
