/**
 * HPACK's Huffman coding (RFC 7541 section 5.2 and Appendix B). Decoding walks
 * a binary tree built once from the code table, a bit at a time: header values
 * are short, and a peer's encoder indexes repeated ones, so a decode runs about
 * once per distinct value rather than once per call.
 */
import { HUFFMAN_BITS, HUFFMAN_CODES } from "./huffman-table.js";

export class HuffmanError extends Error {}

/**
 * The tree: node n's children are at [2n] (bit 0) and [2n + 1] (bit 1); a
 * positive entry is the next node, a negative one the symbol -(entry + 1), 0
 * is no code (cannot happen for a complete code such as this one).
 */
const TREE = (() => {
  const tree = new Int32Array(2 * 512);
  let nodes = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const bits = HUFFMAN_BITS[sym]!;
    let node = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const slot = 2 * node + ((code / 2 ** i) & 1);
      if (i === 0) tree[slot] = -(sym + 1);
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot]!;
      }
    }
  }
  return tree;
})();

let scratch = Buffer.allocUnsafe(256);

/** Decodes `src[start, end)` into a latin1 string; throws HuffmanError on EOS, bad padding or a truncated code. */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  // The shortest code is 5 bits: at most 8/5 symbols per byte.
  const max = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < max) scratch = Buffer.allocUnsafe(max * 2);
  const out = scratch;
  let len = 0;
  let node = 0;
  // Bits since the last symbol, and whether they were all ones (valid padding is a prefix of EOS, under 8 bits).
  let pending = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = TREE[2 * node + bit]!;
      if (next < 0) {
        const sym = -(next + 1);
        if (sym === 256) throw new HuffmanError("HPACK: EOS in a Huffman-coded string");
        out[len++] = sym;
        node = 0;
        pending = 0;
        allOnes = true;
      } else {
        node = next;
        pending++;
        if (bit === 0) allOnes = false;
      }
    }
  }
  if (pending > 7 || !allOnes) throw new HuffmanError("HPACK: invalid Huffman padding");
  return out.toString("latin1", 0, len);
}

/** The Huffman-coded length of a latin1 string, in bytes. */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_BITS[s.charCodeAt(i) & 0xff]!;
  return Math.ceil(bits / 8);
}

/** Writes the Huffman code of `s` at `out[off]`, padded with ones; returns the offset after it. */
export function huffmanEncode(s: string, out: Uint8Array, off: number): number {
  let acc = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let bits = HUFFMAN_BITS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    // Codes are up to 30 bits: feed them in slices of at most 8 so the accumulator stays small.
    while (bits > 0) {
      const take = Math.min(bits, 8);
      bits -= take;
      acc = (acc << take) | ((code / 2 ** bits) & ((1 << take) - 1));
      n += take;
      while (n >= 8) {
        n -= 8;
        out[off++] = (acc >> n) & 0xff;
      }
      acc &= (1 << n) - 1;
    }
  }
  if (n > 0) out[off++] = ((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xff;
  return off;
}
