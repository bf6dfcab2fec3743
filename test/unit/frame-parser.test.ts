/** The gRPC frame splitter: any chunking gives the same messages, and a large message is joined once. */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameParser, frameMessage } from "../../src/transport/grpc/raw.js";

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    out.push(buf.subarray(from, c));
    from = c;
  }
  out.push(buf.subarray(from));
  return out.filter((b) => b.length > 0);
}

describe("FrameParser", () => {
  afterEach(() => vi.restoreAllMocks());

  it("any chunking of any frames yields the same messages", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map((m) => frameMessage(m)));
        const parser = new FrameParser();
        const got: Buffer[] = [];
        for (const chunk of split(stream, cuts)) parser.push(chunk, (m) => got.push(Buffer.from(m)));
        expect(parser.incomplete).toBe(false);
        expect(got.map((b) => b.toString("hex"))).toEqual(msgs.map((m) => Buffer.from(m).toString("hex")));
      }),
      { numRuns: 300 },
    );
  });

  it("a 15 MiB message in 16 KiB chunks is copied once, not once per chunk (linear, not quadratic)", () => {
    const msg = Buffer.alloc(15 * 1024 * 1024, 7);
    const stream = frameMessage(msg);
    const concat = vi.spyOn(Buffer, "concat");
    const parser = new FrameParser(16 * 1024 * 1024);
    let got: Uint8Array | undefined;
    for (let off = 0; off < stream.length; off += 16 * 1024) parser.push(stream.subarray(off, off + 16 * 1024), (m) => (got = m));
    expect(got?.length).toBe(msg.length);
    const copied = concat.mock.calls.reduce((n, [, total]) => n + (total ?? 0), 0);
    expect(concat.mock.calls.length).toBeLessThanOrEqual(2);
    expect(copied).toBeLessThanOrEqual(2 * stream.length);
  });

  it("a frame header over the limit fails at once, with the error the owner chose", () => {
    const parser = new FrameParser(100, (len, max) => new Error(`too big: ${len} > ${max}`));
    const header = Buffer.from([0, 0, 0, 1, 0]);
    expect(() => parser.push(header, () => undefined)).toThrow("too big: 256 > 100");
  });
});
