/**
 * Retention per queue and clean, end to end over each transport against a
 * real server: a count rule keeps the newest completed jobs and leaves failed
 * ones alone, an age rule removes failed jobs after their age, a rule set on a
 * queue that already holds finished jobs applies to them, clean removes the
 * oldest finished jobs up to its limit, and the CLI commands run as the binary.
 */
import { describe, expect, it } from "vitest";
import { Client } from "../../src/index.js";
import { eventually, TRANSPORTS, uniqueQueue, useServer } from "../helpers.js";
import { cli } from "../support/cli.js";

const ctx = useServer();

/** n jobs of `queue` run to completion by hand (fetch + ack), in order; their ids. */
async function complete(c: Client, queue: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const job = await c.enqueue("t.ret", [i], { queue });
    const [got] = await c.transport.fetch({ queues: [queue], count: 1, workerId: "w-ret" });
    expect(got!.id).toBe(job.id);
    await c.transport.ack({ jobId: job.id, workerId: "w-ret", result: i });
    ids.push(job.id);
  }
  return ids;
}

async function exists(c: Client, id: string): Promise<boolean> {
  try {
    await c.getJob(id);
    return true;
  } catch (e) {
    if ((e as { name?: string }).name === "NotFoundError") return false;
    throw e;
  }
}

describe.each(TRANSPORTS)("retention over %s", (transport) => {
  it("a count rule keeps the newest completed jobs; failed ones have their own rule", async () => {
    const queue = uniqueQueue("ret-count");
    const c = new Client({ url: ctx.url, transport });
    try {
      expect(await c.admin.setRetention(queue, { completed: { count: 2 } })).toEqual({ completed: { count: 2 } });
      const ids = await complete(c, queue, 5);
      const cancelled = [
        (await c.enqueue("t.ret", [], { queue })).id,
        (await c.enqueue("t.ret", [], { queue })).id,
        (await c.enqueue("t.ret", [], { queue })).id,
      ];
      for (const id of cancelled) await c.cancelJob(id);
      await eventually(async () => (await c.admin.getQueue(queue)).counts.completed === 2, 5000);
      expect(await Promise.all(ids.map((id) => exists(c, id)))).toEqual([false, false, false, true, true]);
      expect((await c.admin.getQueue(queue)).counts.cancelled).toBe(3);
      expect((await c.admin.getQueue(queue)).configuration.retention).toEqual({ completed: { count: 2 } });
    } finally {
      await c.close();
    }
  });

  it("an age rule removes failed jobs after their age; a new rule applies to the jobs already there", async () => {
    const queue = uniqueQueue("ret-age");
    const c = new Client({ url: ctx.url, transport });
    try {
      const done = await complete(c, queue, 4);
      const failed = (await c.enqueue("t.ret", [], { queue })).id;
      await c.cancelJob(failed);
      // Set after the fact: the four completed jobs count, the oldest three go.
      await c.admin.setRetention(queue, { completed: { count: 1 }, discarded: { age: 300 } });
      await eventually(async () => (await c.admin.getQueue(queue)).counts.completed === 1, 5000);
      expect(await exists(c, done[3]!)).toBe(true);
      expect(await exists(c, failed)).toBe(true);
      await eventually(async () => !(await exists(c, failed)), 5000);
      // Cleared: nothing more is removed.
      expect(await c.admin.setRetention(queue, null)).toBeUndefined();
      const more = await complete(c, queue, 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(await Promise.all(more.map((id) => exists(c, id)))).toEqual([true, true]);
    } finally {
      await c.close();
    }
  });

  it("refuses a bad rule before sending, naming the field", async () => {
    const c = new Client({ url: ctx.url, transport });
    try {
      await expect(c.admin.setRetention("q", { completed: { count: -1 } })).rejects.toMatchObject({
        name: "ValidationError",
        message: expect.stringMatching(/retention\.completed\.count/),
      });
      await expect(c.admin.setRetention("q", { completed: {} })).rejects.toMatchObject({ message: expect.stringMatching(/must set count, age or both/) });
      await expect(c.admin.setRetention("q", { failed: { count: 1 } } as never)).rejects.toMatchObject({
        message: expect.stringMatching(/retention\.failed: is not a kind/),
      });
    } finally {
      await c.close();
    }
  });

  it("clean removes the oldest finished jobs up to its limit, by state", async () => {
    const queue = uniqueQueue("ret-clean");
    const c = new Client({ url: ctx.url, transport });
    try {
      const ids = await complete(c, queue, 5);
      const waiting = (await c.enqueue("t.ret", [], { queue })).id;
      await expect(c.admin.clean(queue, { limit: 2, confirm: false as true })).rejects.toMatchObject({ name: "ValidationError" });
      expect(await c.admin.clean(queue, { states: ["completed"], limit: 2, confirm: true })).toMatchObject({ purgedCount: 2 });
      expect(await Promise.all(ids.map((id) => exists(c, id)))).toEqual([false, false, true, true, true]);
      // Older than an hour: none of them.
      expect(await c.admin.clean(queue, { olderThan: 3_600_000, confirm: true })).toMatchObject({ purgedCount: 0 });
      expect(await c.admin.clean(queue, { confirm: true })).toMatchObject({ purgedCount: 3 });
      // Unfinished jobs are never cleaned.
      expect((await c.getJob(waiting)).state).toBe("available");
    } finally {
      await c.close();
    }
  });
});

describe.each(TRANSPORTS)("ojs-connect clean and retention over %s", (transport) => {
  const conn = () => ["--url", ctx.url, "--transport", transport];

  it("set, show and clear a queue's retention; clean with a limit", async () => {
    const queue = uniqueQueue("ret-cli");
    const set = await cli(["retention", queue, "--completed-count", "3", "--discarded-age", "7d", "--json", ...conn()]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ queue, retention: { completed: { count: 3 }, discarded: { age: 604_800_000 } } });
    const shown = await cli(["retention", queue, ...conn()]);
    expect(shown.stdout).toMatch(/completed +newest 3/);
    expect(shown.stdout).toMatch(/discarded +for 604800000 ms/);
    const cleared = await cli(["retention", queue, "--clear", "--json", ...conn()]);
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.stdout)).toEqual({ queue, retention: null });
    expect((await cli(["retention", queue, "--completed-count", "-1", ...conn()])).code).toBe(2);

    const c = new Client({ url: ctx.url, transport });
    try {
      await complete(c, queue, 3);
    } finally {
      await c.close();
    }
    expect(await cli(["clean", queue, "--state", "completed", "--limit", "2", ...conn()])).toMatchObject({
      code: 0,
      stdout: `removed 2 finished jobs from ${queue} (the limit: run again for more)\n`,
    });
    const rest = await cli(["clean", queue, "--older-than", "0s", "--json", ...conn()]);
    expect(JSON.parse(rest.stdout)).toMatchObject({ queue, removed: 1 });
    expect((await cli(["clean", queue, "--state", "active", ...conn()])).code).toBe(2);
  }, 60_000);
});

describe.each(TRANSPORTS)("keepFor (per job) over %s", (transport) => {
  it("a job's own keepFor removes it after it finishes (0: at once); other jobs of the queue stay", async () => {
    const queue = uniqueQueue("ret-job");
    const c = new Client({ url: ctx.url, transport });
    try {
      const gone = await c.enqueue("t.ret", [], { queue, keepFor: { completed: 0 } });
      const kept = await c.enqueue("t.ret", [], { queue });
      for (const id of [gone.id, kept.id]) {
        await c.transport.fetch({ queues: [queue], count: 1, workerId: "w" });
        await c.transport.ack({ jobId: id, workerId: "w" });
      }
      const later = await c.enqueue("t.ret", [], { queue, keepFor: { discarded: "PT0.3S" } });
      await c.cancelJob(later.id);
      await eventually(async () => !(await exists(c, gone.id)), 5000);
      expect(await exists(c, later.id)).toBe(true);
      await eventually(async () => !(await exists(c, later.id)), 5000);
      expect(await exists(c, kept.id)).toBe(true);
      await expect(c.enqueue("t.ret", [], { queue, keepFor: { done: 1 } as never })).rejects.toMatchObject({
        name: "ValidationError",
        message: expect.stringMatching(/options\.keepFor/),
      });
    } finally {
      await c.close();
    }
  });
});
