import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

const T0 = Date.UTC(2026, 0, 1);

describe("VirtualClock", () => {
  it("stands still until advanced, and fires timers in time order at their own instant", () => {
    const clock = new VirtualClock(T0);
    const seen: Array<[string, number]> = [];
    clock.setTimer(() => seen.push(["b", clock.now()]), 2_000);
    clock.setTimer(() => seen.push(["a", clock.now()]), 1_000);
    clock.setTimer(() => seen.push(["c", clock.now()]), 2_000);
    expect(clock.now()).toBe(T0);
    expect(clock.nextTimerAt()).toBe(T0 + 1_000);
    expect(clock.advance(1_500).getTime()).toBe(T0 + 1_500);
    expect(seen).toEqual([["a", T0 + 1_000]]);
    clock.advance("PT1S");
    // Same instant: in the order set.
    expect(seen).toEqual([
      ["a", T0 + 1_000],
      ["b", T0 + 2_000],
      ["c", T0 + 2_000],
    ]);
    expect(clock.now()).toBe(T0 + 2_500);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it("fires timers set by timers when they fall within the same advance", () => {
    const clock = new VirtualClock(T0);
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now() - T0);
      if (fired.length < 5) clock.setTimer(tick, 100);
    };
    clock.setTimer(tick, 100);
    clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    clock.advance(1_000);
    expect(fired).toEqual([100, 200, 300, 400, 500]);
  });

  it("cancelled timers never fire", () => {
    const clock = new VirtualClock(T0);
    let n = 0;
    const t = clock.setTimer(() => n++, 10);
    t.cancel();
    clock.advance(100);
    expect(n).toBe(0);
  });

  it("set() moves forward firing what falls due, or back without firing", () => {
    const clock = new VirtualClock("2026-01-01T00:00:00Z");
    let n = 0;
    clock.setTimer(() => n++, 60_000);
    clock.set(new Date(T0 - 3_600_000));
    expect(clock.now()).toBe(T0 - 3_600_000);
    expect(n).toBe(0);
    clock.set("2026-01-01T00:01:00Z");
    expect(n).toBe(1);
    expect(clock.now()).toBe(T0 + 60_000);
  });

  it("refuses what is not a duration or an instant, with a ValidationError", () => {
    const clock = new VirtualClock(T0);
    expect(() => clock.advance(-1)).toThrow(ValidationError);
    expect(() => clock.advance("5 minutes")).toThrow(/not a duration/);
    expect(() => clock.set("yesterday")).toThrow(/not a valid instant/);
    expect(() => new VirtualClock(Number.NaN)).toThrow(ValidationError);
  });

  it("after dispose() nothing fires and advancing is refused", () => {
    const clock = new VirtualClock(T0);
    let n = 0;
    clock.setTimer(() => n++, 10);
    clock.dispose();
    clock.setTimer(() => n++, 10);
    expect(() => clock.advance(100)).toThrow(/disposed/);
    expect(n).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it("starts at the wall clock by default", () => {
    const before = Date.now();
    const clock = new VirtualClock();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.now()).toBeLessThanOrEqual(Date.now());
  });
});
