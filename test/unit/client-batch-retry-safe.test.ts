/**
 * Client.enqueueBatch retries a transient failure only when every job of the batch names its id or
 * a unique policy (a retry could otherwise store a job twice), counted in the loop that checks the jobs.
 */
import { describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { OjsError } from "../../src/model/errors.js";
import type { Job, NormalizedJobRequest } from "../../src/model/job.js";
import type { Transport } from "../../src/transport/transport.js";

/** A transport whose enqueueBatch fails once with a retryable error, then answers. */
function flaky() {
  let calls = 0;
  const transport = {
    enqueueBatch: (reqs: NormalizedJobRequest[]): Promise<Job[]> => {
      calls++;
      if (calls === 1) return Promise.reject(new OjsError("unreachable", { code: "unavailable", retryable: true }));
      return Promise.resolve(reqs.map((r, i) => ({ id: r.id ?? `made-${i}`, type: r.type, args: r.args }) as unknown as Job));
    },
    close: () => Promise.resolve(),
  } as unknown as Transport;
  return { transport, calls: () => calls };
}

const ID = "019a0000-0000-7000-8000-00000000000";

describe("Client.enqueueBatch: retry only when safe", () => {
  it("retries a batch whose every job has an id or a unique policy", async () => {
    const f = flaky();
    const c = new Client({ transport: f.transport, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } });
    const out = await c.enqueueBatch([
      { type: "t.a", args: [1], options: { id: `${ID}1` } },
      { type: "t.a", args: [2], options: { unique: { keys: ["type", "args"] } } },
    ]);
    expect(out).toHaveLength(2);
    expect(f.calls()).toBe(2);
  });

  it("does not retry a batch with one job that has neither, wherever it is", async () => {
    for (const at of [0, 1, 2]) {
      const f = flaky();
      const c = new Client({ transport: f.transport, retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } });
      const jobs = [0, 1, 2].map((k) => ({ type: "t.a", args: [k], options: k === at ? {} : { id: `${ID}${k}` } }));
      await expect(c.enqueueBatch(jobs)).rejects.toThrow("unreachable");
      expect(f.calls()).toBe(1);
    }
  });
});
