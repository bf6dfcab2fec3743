/**
 * An ack that meets a server outage is retried until the server is back
 * (settleRetryMs, 30 s by default), so that a job whose handler finished during
 * a restart is reported completed once, not left to its lease and run again.
 * The outage is real: a proxy between worker and server breaks every connection
 * and refuses new ones for longer than the old budget of six tries (~3 s).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, Worker } from "../../src/index.js";
import { GrpcTransport } from "../../src/transport/grpc/transport.js";
import { HttpTransport } from "../../src/transport/http/transport.js";
import { faulty } from "../support/faulty-transport.js";
import { Proxy } from "../support/proxy.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer();
const OUTAGE_MS = 4500;

describe.each(TRANSPORTS)("settling across a server outage over %s", (name) => {
  let client: Client;
  let proxy: Proxy;
  beforeAll(async () => {
    client = new Client({ url: ctx.url, transport: name });
    proxy = await Proxy.start(ctx.url);
  });
  afterAll(async () => {
    await client.close();
    await proxy.close();
  });

  it(`an ack that fails for ${OUTAGE_MS} ms (the server unreachable) lands when it is back: completed once, no settleFailed`, async () => {
    const queue = uniqueQueue("outage");
    const inner = name === "grpc" ? new GrpcTransport({ url: proxy.url }) : new HttpTransport({ url: proxy.url });
    const f = faulty(inner); // no fault injected: it counts the ack calls
    // A reservation longer than the outage: the job must not come back through its lease meanwhile.
    const w = new Worker({ transport: f.transport, queues: [queue], handleSignals: false, visibilityTimeoutMs: 20_000, heartbeatIntervalMs: 500 });
    const events: string[] = [];
    w.on("job.completed", () => void events.push("completed"));
    w.on("job.settleFailed", () => void events.push("settleFailed"));
    let runs = 0;
    let back: Promise<void> | undefined;
    w.register("t.outage", () => {
      runs++;
      // The server goes away as the handler returns: the ack finds no server for OUTAGE_MS.
      proxy.refuse(true);
      proxy.cut();
      back = new Promise((resolve) =>
        setTimeout(() => {
          proxy.refuse(false);
          resolve();
        }, OUTAGE_MS),
      );
    });
    void w.start();
    try {
      const job = await client.enqueue("t.outage", [], { queue });
      await eventually(() => events.length > 0, OUTAGE_MS + 10_000);
      await back;
      expect(events).toEqual(["completed"]);
      expect(runs).toBe(1);
      expect(proxy.refused).toBeGreaterThan(0); // the outage happened
      expect(f.calls.ack).toBeGreaterThan(1); // and the ack was tried again across it
      expect(await client.getJob(job.id)).toMatchObject({ state: "completed", attempt: 1 });
    } finally {
      proxy.refuse(false);
      await w.stop({ gracePeriodMs: 0 });
      await f.transport.close();
    }
  }, 30_000);
});
