/**
 * HPACK of the own HTTP/2 client (src/transport/h2): the Huffman table
 * (RFC 7541 Appendix B) is a complete prefix code, the decoder reads the
 * RFC's own examples (Appendix C.4, Huffman and dynamic table) and refuses
 * malformed input, and whatever the encoder writes (with or without Huffman,
 * through table size changes) the decoder reads back, block after block.
 * Decoding what node:http2 (nghttp2) encodes is tested over real sockets in
 * h2-client.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackEncoder, HpackError } from "../../src/transport/h2/hpack.js";
import { huffmanDecode, huffmanEncode, huffmanLength } from "../../src/transport/h2/huffman.js";
import { HUFFMAN_BITS, HUFFMAN_CODES } from "../../src/transport/h2/huffman-table.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const pairs = (list: string[]) => Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i], list[2 * i + 1]]);
const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 80 });

describe("Huffman code", () => {
  it("is complete: the Kraft sum of its 257 code lengths is exactly 1, and no code is a prefix of another", () => {
    expect(HUFFMAN_BITS).toHaveLength(257);
    // Sum of 2^(30 - len) over 30-bit codes equals 2^30 exactly when the code is complete.
    expect(HUFFMAN_BITS.reduce((s, b) => s + 2 ** (30 - b), 0)).toBe(2 ** 30);
    const seen = new Set<string>();
    for (let i = 0; i < 257; i++) {
      const s = HUFFMAN_CODES[i]!.toString(2).padStart(HUFFMAN_BITS[i]!, "0");
      for (let k = 1; k <= s.length; k++) expect(seen.has(s.slice(0, k))).toBe(false);
      seen.add(s);
    }
  });

  it("round-trips any latin1 string", () => {
    fc.assert(
      fc.property(latin1, (s) => {
        const out = Buffer.alloc(huffmanLength(s) + 1);
        const end = huffmanEncode(s, out, 0);
        expect(end).toBe(huffmanLength(s));
        expect(huffmanDecode(out, 0, end)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses EOS in a string, padding of 8 bits or more, and padding that is not all ones", () => {
    // EOS is 30 ones: four 0xff bytes hold it.
    expect(() => huffmanDecode(hex("ffffffff"), 0, 4)).toThrow(/EOS/);
    // "a" is 00011 (5 bits): 00011 111 is valid; a whole byte of padding after it is not.
    expect(huffmanDecode(hex("1f"), 0, 1)).toBe("a");
    expect(() => huffmanDecode(hex("1fff"), 0, 2)).toThrow(/padding/);
    expect(() => huffmanDecode(hex("1e"), 0, 1)).toThrow(/padding/);
  });
});

describe("HPACK decoder", () => {
  it("reads RFC 7541 C.4 (requests with Huffman coding), keeping the dynamic table across blocks", () => {
    const d = new HpackDecoder();
    const read = (h: string) => {
      const out: string[] = [];
      d.decode(hex(h), out);
      return pairs(out);
    };
    expect(read("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ]);
    expect(read("8286 84be 5886 a8eb 1064 9cbf")).toEqual([
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ]);
    expect(read("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")).toEqual([
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ]);
  });

  it("refuses index 0, an index past the table, a size update over the limit or after a field, and truncated input", () => {
    const bad = (h: string) => () => new HpackDecoder().decode(hex(h), []);
    expect(bad("80")).toThrow(HpackError);
    expect(bad("be")).toThrow(/past the dynamic table/);
    expect(bad("3fe21f")).toThrow(/over the limit/);
    expect(bad("82 20")).toThrow(/after a header field/);
    expect(bad("40 05 61")).toThrow(/truncated/);
    expect(bad("ff")).toThrow(/truncated/);
  });

  it("obeys a size update: entries that no longer fit are evicted", () => {
    const d = new HpackDecoder();
    const out: string[] = [];
    d.decode(hex("400161 0162"), out); // a: b, indexed
    d.decode(hex("be"), out);
    expect(pairs(out)).toEqual([
      ["a", "b"],
      ["a", "b"],
    ]);
    d.decode(hex("20"), []);
    expect(() => d.decode(hex("be"), [])).toThrow(/past the dynamic table/);
  });
});

describe("HPACK encoder → decoder", () => {
  const header = fc.tuple(fc.constantFrom("content-type", "grpc-timeout", "x-a", "x-b", "authorization", "te", ":path"), latin1);
  const block = fc.array(header, { maxLength: 12 });

  for (const huffman of [false, true]) {
    it(`round-trips any sequence of header blocks (${huffman ? "Huffman" : "raw"} strings), through table size changes`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(block, fc.option(fc.integer({ min: 0, max: 4096 }))), { maxLength: 20 }), (blocks) => {
          const enc = new HpackEncoder(huffman);
          const dec = new HpackDecoder();
          for (const [headers, resize] of blocks) {
            if (resize !== null) enc.setMaxSize(resize);
            enc.begin();
            for (const [k, v] of headers) enc.add(k, v);
            const out: string[] = [];
            dec.decode(Buffer.from(enc.end()), out);
            expect(pairs(out)).toEqual(headers);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it("sends a repeated header as one byte once it is indexed, and never indexes authorization", () => {
    const enc = new HpackEncoder();
    const h: Array<[string, string]> = [
      [":path", "/ojs.v1.OJSService/Enqueue"],
      ["content-type", "application/grpc+proto"],
      ["authorization", "Bearer secret"],
    ];
    const encode = () => {
      enc.begin();
      for (const [k, v] of h) enc.add(k, v);
      return Buffer.from(enc.end());
    };
    const first = encode();
    const second = encode();
    expect(second.length).toBeLessThan(first.length);
    expect(second.subarray(0, 2)).toEqual(Buffer.from([0xbf, 0xbe]));
    // Literal never indexed (0001xxxx) with the static name index of authorization (23 = 15 + 8).
    expect(second[2]).toBe(0x1f);
    expect(second[3]).toBe(8);
  });
});
