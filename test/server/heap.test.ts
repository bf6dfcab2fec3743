import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MinHeap } from "../../src/server/store/heap.js";

// Model-based: every interleaving of push/pop/retain must agree with a sorted array.
type Op = { kind: "push"; key: number } | { kind: "pop" } | { kind: "retainEven" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), key: fc.integer({ min: -50, max: 50 }) }),
  fc.constant({ kind: "pop" as const }),
  fc.constant({ kind: "retainEven" as const }),
);

describe("MinHeap", () => {
  it("pops in key order through any mix of push, pop and retain", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new MinHeap<number>();
        let model: number[] = [];
        for (const o of ops) {
          if (o.kind === "push") {
            heap.push(o.key, o.key);
            model.push(o.key);
          } else if (o.kind === "pop") {
            model.sort((a, b) => a - b);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.retain((v) => v % 2 === 0);
            model = model.filter((v) => v % 2 === 0);
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peekKey()).toBe(model.length ? Math.min(...model) : undefined);
        }
      }),
    );
  });
});
