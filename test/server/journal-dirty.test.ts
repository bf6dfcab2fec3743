/**
 * The journal's pending names (store/journal/dirty.ts): a group commit takes
 * them, and hands the taken set back once written (recycle) so that the next
 * take reuses its collections. Nothing marked is lost on the way, whether the
 * write succeeded or failed (mergeBack).
 */
import { describe, expect, it } from "vitest";
import { Dirty } from "../../src/server/store/journal/dirty.js";

describe("journal dirty names", () => {
  it("take hands over what was marked and starts empty; a recycled set comes back empty for the next take", () => {
    const d = new Dirty();
    d.jobs.set("a", undefined);
    d.queues.add("q");
    d.schemas.set("t\u00001", { type: "t", version: 1 });
    d.reset = true;
    const first = d.take();
    expect([...first.jobs.keys()]).toEqual(["a"]);
    expect([...first.queues]).toEqual(["q"]);
    expect(first.schemas.size).toBe(1);
    expect(first.reset).toBe(true);
    expect(d.jobs.size + d.queues.size + d.schemas.size).toBe(0);
    expect(d.reset).toBe(false);
    // Marked while the first group was being written: pending, never cleared by the recycle.
    d.jobs.set("b", undefined);
    d.recycle(first);
    const second = d.take();
    expect(second).toBe(first);
    expect([...second.jobs.keys()]).toEqual(["b"]);
    expect(second.queues.size + second.schemas.size).toBe(0);
    expect(second.reset).toBe(false);
    expect(d.jobs.size).toBe(0);
  });

  it("a failed write's names are pending again after mergeBack and recycle", () => {
    const d = new Dirty();
    d.jobs.set("a", undefined);
    d.crons.add("c");
    const taken = d.take();
    d.jobs.set("b", undefined);
    d.mergeBack(taken);
    d.recycle(taken);
    expect([...d.jobs.keys()].sort()).toEqual(["a", "b"]);
    expect([...d.crons]).toEqual(["c"]);
    const again = d.take();
    expect([...again.jobs.keys()].sort()).toEqual(["a", "b"]);
    expect([...again.crons]).toEqual(["c"]);
    expect(d.jobs.size + d.crons.size).toBe(0);
  });

  it("a job marked again while a failed write was out keeps its newer mark after mergeBack", () => {
    const d = new Dirty();
    const old = { id: "a" } as never;
    const newer = { id: "a", newer: true } as never;
    d.jobs.set("a", old);
    d.jobs.set("b", old);
    const taken = d.take();
    // Dropped meanwhile (marked without its record) and b changed again: those marks win.
    d.jobs.set("a", undefined);
    d.jobs.set("b", newer);
    d.mergeBack(taken);
    d.recycle(taken);
    expect(d.jobs.get("a")).toBeUndefined();
    expect(d.jobs.has("a")).toBe(true);
    expect(d.jobs.get("b")).toBe(newer);
    // One that was not marked again comes back with the record it had.
    d.jobs.set("c", old);
    const again = d.take();
    d.mergeBack(again);
    expect(d.jobs.get("c")).toBe(old);
  });
});
