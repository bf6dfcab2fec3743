/**
 * FrameCoalescer (src/server/grpc/coalesce.ts): the messages of one tick leave
 * in one write, framed exactly as gRPC frames them one by one, in order; an
 * explicit flush writes at once and leaves nothing for the tick's end.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameCoalescer } from "../../src/server/grpc/coalesce.js";
import { FrameParser, frameMessage } from "../../src/transport/grpc/raw.js";

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("FrameCoalescer", () => {
  it("writes the messages of one tick once, as the concatenation of their gRPC frames", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 40 }), async (msgs) => {
        const writes: Buffer[] = [];
        const c = new FrameCoalescer((b) => writes.push(b));
        for (const m of msgs) c.add(m);
        expect(writes).toHaveLength(0); // nothing before the tick ends
        await tick();
        expect(writes).toHaveLength(1);
        expect(Buffer.compare(writes[0]!, Buffer.concat(msgs.map((m) => frameMessage(m))))).toBe(0);
        const parsed: Uint8Array[] = [];
        new FrameParser().push(writes[0]!, (m) => parsed.push(Uint8Array.from(m)));
        expect(parsed).toEqual(msgs.map((m) => Uint8Array.from(m)));
      }),
      { numRuns: 100 },
    );
  });

  it("flush() writes at once; the queued end-of-tick flush then writes nothing more", async () => {
    const writes: Buffer[] = [];
    const c = new FrameCoalescer((b) => writes.push(b));
    c.add(new Uint8Array([1, 2]));
    c.flush();
    expect(writes).toHaveLength(1);
    await tick();
    expect(writes).toHaveLength(1);
    c.add(new Uint8Array([3]));
    c.clear();
    await tick();
    expect(writes).toHaveLength(1); // cleared: dropped, never written
    c.add(new Uint8Array([4]));
    await tick();
    expect(writes).toHaveLength(2);
  });
});
