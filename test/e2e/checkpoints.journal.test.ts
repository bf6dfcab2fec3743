/**
 * Checkpoints with the journal store: they survive a restart (with their
 * sequence), a delete survives it too, and a checkpoint goes with its job when
 * the job is forgotten. Over each transport, against a real server restarted
 * on the same data directory.
 */
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../support/temp-dirs.js";
import { Client } from "../../src/index.js";
import { startServer } from "../../src/server/server.js";
import { TRANSPORTS } from "../helpers.js";
import { serverCore } from "../../src/server/internal.js";

const tempDir = useTempDirs("ojs-cp-journal-");

describe.each(TRANSPORTS)("checkpoints in the journal, over %s", (transport) => {
  it("survive a restart; deletes and forgotten jobs stay gone", async () => {
    const dataDir = tempDir();
    let server = await startServer({ port: 0, dataDir });
    let client = new Client({ url: server.url, transport });
    let kept: string, cleared: string, finished: string;
    try {
      kept = (await client.enqueue("t.cpj", [], { queue: "cpj" })).id;
      cleared = (await client.enqueue("t.cpj", [], { queue: "cpj" })).id;
      finished = (await client.enqueue("t.cpj", [], { queue: "cpj" })).id;
      await client.checkpoints.save(kept, { step: 1 });
      await client.checkpoints.save(kept, { step: 2, nested: { list: [1, "a", null] } });
      await client.checkpoints.save(cleared, { step: 1 });
      await client.checkpoints.delete(cleared);
      await client.checkpoints.save(finished, { step: 1 });
      await client.cancelJob(finished);
      await client.admin.deleteJob(finished);
      // Forgetting the job forgot its checkpoint (no leak while the server runs).
      expect(serverCore(server).store.checkpoints.size).toBe(1);
    } finally {
      await client.close();
      await server.close();
    }
    server = await startServer({ port: 0, dataDir });
    client = new Client({ url: server.url, transport });
    try {
      const cp = await client.checkpoints.get(kept);
      expect(cp).toMatchObject({ jobId: kept, state: { step: 2, nested: { list: [1, "a", null] } }, sequence: 2 });
      expect(cp!.createdAt).toBeInstanceOf(Date);
      expect(await client.checkpoints.get(cleared)).toBeUndefined();
      await expect(client.checkpoints.get(finished)).rejects.toMatchObject({ name: "NotFoundError" });
      expect(serverCore(server).store.checkpoints.size).toBe(1);
      // The sequence goes on from where it was.
      expect(await client.checkpoints.save(kept, { step: 3 })).toMatchObject({ sequence: 3 });
    } finally {
      await client.close();
      await server.close();
    }
  }, 20_000);
});
