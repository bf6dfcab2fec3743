/**
 * FrameCoalescer (src/server/grpc/coalesce.ts): the messages of one tick leave
 * in one write, framed exactly as gRPC frames them one by one, in order; an
 * explicit flush writes at once and leaves nothing for the tick's end; when
 * told to wait (an enqueue answer while a push is leaving), the messages leave
 * in a setImmediate instead, after what node:http2 sends in that check phase.
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

  it("waits for a setImmediate when later() says so at the first message, and only then", async () => {
    const writes: Buffer[] = [];
    let wait = true;
    const c = new FrameCoalescer(
      (b) => writes.push(b),
      () => wait,
    );
    c.add(new Uint8Array([1]));
    wait = false; // read once, at the message that queues the flush
    c.add(new Uint8Array([2]));
    await Promise.resolve();
    await new Promise<void>((r) => queueMicrotask(r));
    expect(writes).toHaveLength(0); // not at the end of the tick
    await tick();
    expect(writes).toHaveLength(1);
    expect(Buffer.compare(writes[0]!, Buffer.concat([frameMessage(new Uint8Array([1])), frameMessage(new Uint8Array([2]))]))).toBe(0);
    c.add(new Uint8Array([3]));
    await new Promise<void>((r) => queueMicrotask(r));
    expect(writes).toHaveLength(2); // later() false: at the end of the tick again
  });
});
