/** uuidv7(): the ids the servers give jobs, workflows, crons and webhooks. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UUIDV7_RE, uuidv7 } from "../../src/model/uuid.js";

/** The 48-bit millisecond timestamp an id starts with. */
const msOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
/** The 12-bit counter in rand_a. */
const seqOf = (id: string) => parseInt(id.slice(15, 18), 16);

describe("uuidv7", () => {
  it("spells any millisecond as a UUIDv7 that carries it", () => {
    // Past every id made so far (the counter keeps ids of one process ascending).
    let base = Date.now() + 1;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), (step) => {
        base += step + 1;
        if (base >= 2 ** 48) return;
        const id = uuidv7(base);
        expect(id).toMatch(UUIDV7_RE);
        expect(id).toHaveLength(36);
        expect(msOf(id)).toBe(base);
      }),
    );
  });

  it("sorts ids of one millisecond in the order they were made, each distinct", () => {
    const now = 2 ** 48 - 10;
    const ids = Array.from({ length: 3000 }, () => uuidv7(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(UUIDV7_RE);
  });

  it("moves to the next millisecond when the counter runs out, and never goes back", () => {
    const now = 2 ** 48 - 5;
    let prev = uuidv7(now);
    for (let i = 0; i < 4200; i++) {
      const id = uuidv7(now);
      expect(id > prev).toBe(true);
      // The next count in the same millisecond, or count 0 of the next one.
      if (msOf(id) === msOf(prev)) expect(seqOf(id)).toBe(seqOf(prev) + 1);
      else expect([msOf(id) - msOf(prev), seqOf(id)]).toEqual([1, 0]);
      prev = id;
    }
    expect(msOf(prev)).toBeGreaterThan(now);
    // An earlier clock reading does not take the ids back in time.
    expect(uuidv7(1) > prev).toBe(true);
  });

  it("returns a string of its own each call (the text it is spelled in is reused)", () => {
    const a = uuidv7();
    const copy = `${a}`;
    uuidv7();
    expect(a).toBe(copy);
  });
});
