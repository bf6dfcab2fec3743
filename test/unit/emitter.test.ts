import { describe, expect, it } from "vitest";
import { Emitter } from "../../src/util/emitter.js";

type Events = { tick: number };

/** The emitter exposes emit to subclasses only. */
class Probe extends Emitter<Events> {
  fire(n: number): void {
    this.emit("tick", n);
  }
}

/**
 * An emit calls the listeners there were when it began: one added or removed by
 * a listener takes effect from the next emit. With one listener (a worker's
 * job.completed on every job) the emit calls it without copying the set, and
 * must keep that rule.
 */
describe("Emitter", () => {
  it("a listener added by the only listener is first called by the next emit", () => {
    const e = new Probe();
    const seen: string[] = [];
    let added = false;
    e.on("tick", (n) => {
      seen.push(`first ${n}`);
      if (!added) {
        added = true;
        e.on("tick", (m) => void seen.push(`second ${m}`));
      }
    });
    e.fire(1);
    expect(seen).toEqual(["first 1"]);
    e.fire(2);
    expect(seen).toEqual(["first 1", "first 2", "second 2"]);
  });

  it("a listener removed by another during an emit is still called by it, and not after", () => {
    const e = new Probe();
    const seen: string[] = [];
    let offB: () => void = () => undefined;
    e.on("tick", (n) => {
      seen.push(`a ${n}`);
      offB();
    });
    offB = e.on("tick", (n) => void seen.push(`b ${n}`));
    e.fire(1);
    e.fire(2);
    expect(seen).toEqual(["a 1", "b 1", "a 2"]);
  });

  it("a listener that throws or rejects is reported, and the others still run", async () => {
    const errors: unknown[] = [];
    class Reporting extends Emitter<Events> {
      constructor() {
        super((error) => errors.push(error));
      }
      fire(n: number): void {
        this.emit("tick", n);
      }
    }
    const one = new Reporting();
    one.on("tick", () => {
      throw new Error("sync");
    });
    one.fire(1);
    const two = new Reporting();
    let ran = 0;
    two.on("tick", () => Promise.reject(new Error("async")));
    two.on("tick", () => void ran++);
    two.fire(1);
    await new Promise((r) => setImmediate(r));
    expect(errors.map((e) => (e as Error).message)).toEqual(["sync", "async"]);
    expect(ran).toBe(1);
  });
});
