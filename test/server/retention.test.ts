/**
 * The retention module on its own, with a manual clock: every pass is bounded
 * (lowering a limit on many jobs removes them over several timer turns, never
 * in one), the age rule wakes when the oldest job ages out, stale entries
 * (a job retried or deleted since) are skipped, and close() leaves no timer.
 */
import { describe, expect, it } from "vitest";
import type { JobState } from "../../src/model/job.js";
import { Retention } from "../../src/server/store/retention.js";

function manualClock() {
  let now = 1_000_000;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  return {
    timers,
    now: () => now,
    setTimer(fn: () => void, ms: number) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
    /** Runs what is due by `to`, in time order. */
    advance(ms: number) {
      const to = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.live && t.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        due.live = false;
        now = Math.max(now, due.at);
        due.fn();
      }
      now = to;
    },
    pending: () => timers.filter((t) => t.live).length,
  };
}

function setup(finished: Array<{ id: string; seq: number; state: JobState; at: number }> = [], maxEntries = 10_000) {
  const clock = manualClock();
  const live = new Map(finished.map((f) => [f.id, f.seq]));
  const removedIds: string[] = [];
  const r = new Retention({
    clock,
    maxEntries,
    live: (id, seq) => live.get(id) === seq,
    remove: (id, seq) => {
      if (live.get(id) !== seq) return false;
      live.delete(id);
      removedIds.push(id);
      return true;
    },
    finishedOf: () => finished.filter((f) => live.has(f.id)),
  });
  return { clock, live, removedIds, r };
}

describe("retention", () => {
  it("a lowered limit on many jobs is applied in bounded passes", () => {
    const jobs = Array.from({ length: 2500 }, (_, i) => ({ id: `j${i}`, seq: i + 1, state: "completed" as JobState, at: 1000 + i }));
    const { clock, removedIds, r } = setup(jobs);
    r.set("q", { completed: { count: 0 } });
    clock.advance(0);
    expect(removedIds.length).toBe(1000);
    // Oldest first.
    expect(removedIds[0]).toBe("j0");
    clock.advance(10);
    expect(removedIds.length).toBe(2000);
    clock.advance(10);
    expect(removedIds.length).toBe(2500);
    expect(clock.pending()).toBe(0);
  });

  it("an age rule removes a job once it is that old, and skips jobs retried since", () => {
    const { clock, live, removedIds, r } = setup();
    r.set("q", { discarded: { ageMs: 5000 } });
    clock.advance(0);
    for (const [id, seq] of [
      ["a", 1],
      ["b", 2],
    ] as const) {
      live.set(id, seq);
      r.finished("q", "cancelled", id, seq, clock.now());
    }
    // "b" was retried and finished again under a new seq: its old entry must not remove it.
    live.set("b", 3);
    clock.advance(4999);
    expect(removedIds).toEqual([]);
    clock.advance(1);
    expect(removedIds).toEqual(["a"]);
    expect(live.has("b")).toBe(true);
    // A completed job is not the discarded rule's.
    live.set("c", 4);
    r.finished("q", "completed", "c", 4, clock.now());
    clock.advance(10_000);
    expect(live.has("c")).toBe(true);
  });

  it("a list never holds more entries than the store keeps finished jobs (older ones are the store's own bound's)", () => {
    const { clock, live, removedIds, r } = setup([], 3);
    r.set("q", { completed: { ageMs: 1000 } });
    for (let i = 0; i < 10; i++) {
      live.set(`j${i}`, i + 1);
      r.finished("q", "completed", `j${i}`, i + 1, clock.now());
    }
    clock.advance(1000);
    expect(removedIds).toEqual(["j7", "j8", "j9"]);
  });

  it("close() cancels its timer", () => {
    const { clock, r } = setup();
    r.set("q", { completed: { ageMs: 60_000 } });
    r.finished("q", "completed", "x", 1, clock.now());
    expect(clock.pending()).toBeGreaterThan(0);
    r.close();
    expect(clock.pending()).toBe(0);
  });
});
