import { describe, expect, it } from "vitest";
import { WorkerRegistry } from "../../src/server/store/worker-registry.js";
import { NotFoundError } from "../../src/model/errors.js";

describe("the registry of workers a server has heard from", () => {
  it("holds at most its bound, forgetting the worker heard from least recently", () => {
    let t = 0;
    const r = new WorkerRegistry(() => ++t, 3);
    r.touch("a");
    r.touch("b");
    r.touch("c");
    r.touch("a"); // heard again: now the freshest
    r.touch("d"); // full: b goes
    expect(r.list().map((w) => w.id)).toEqual(["c", "a", "d"]);
    expect(r.find("b")).toBeUndefined();
    expect(r.get("a").lastSeen).toBe(4);
    expect(r.get("a").firstSeen).toBe(1);
  });

  it("an operator's directive does not count as hearing from the worker", () => {
    let t = 0;
    const r = new WorkerRegistry(() => ++t, 2);
    r.touch("a");
    r.touch("b");
    r.touch("a", false);
    expect(r.get("a").lastSeen).toBe(1);
    r.touch("c"); // a is still the stalest
    expect(r.list().map((w) => w.id)).toEqual(["b", "c"]);
  });

  it("get and remove of an unknown worker are NotFoundError", () => {
    const r = new WorkerRegistry(() => 0);
    expect(() => r.get("x")).toThrow(NotFoundError);
    expect(() => r.remove("x")).toThrow(NotFoundError);
    r.touch("x");
    r.remove("x");
    expect(r.list()).toEqual([]);
  });
});
