import { randomFillSync } from "node:crypto";

// A pool of random bytes refilled in bulk: one syscall per 1 024 ids instead of one per id.
const pool = new Uint8Array(8 * 1024);
let poolOffset = pool.length;
let lastMs = 0;
let seq = 0;

/** Where `n` fresh random bytes start in `pool`. */
function random(n: number): number {
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");
// The id is spelled here and read out as one flat string: built by `+`, it was a rope of twenty
// pieces that every Map lookup (the store's index, by id) had to flatten first, and a
// Uint8Array and two subarrays a call besides. Both cost more than the rest of the id.
const text = Buffer.from("00000000-0000-0000-0000-000000000000", "latin1");

function hexByte(v: number, at: number): void {
  text[at] = HEX_DIGITS[(v >>> 4) & 0x0f]!;
  text[at + 1] = HEX_DIGITS[v & 0x0f]!;
}

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits. Ids made in
 * the same millisecond carry a 12-bit counter in rand_a so that they sort in
 * creation order, which keeps FIFO order visible in ids.
 */
export function uuidv7(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    seq = pool[random(1)]! & 0x3f;
  } else {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
  }
  const ms = lastMs;
  const r = random(8);
  const high = Math.floor(ms / 2 ** 32);
  hexByte((high >>> 8) & 0xff, 0);
  hexByte(high & 0xff, 2);
  hexByte((ms >>> 24) & 0xff, 4);
  hexByte((ms >>> 16) & 0xff, 6);
  hexByte((ms >>> 8) & 0xff, 9);
  hexByte(ms & 0xff, 11);
  hexByte(0x70 | ((seq >>> 8) & 0x0f), 14);
  hexByte(seq & 0xff, 16);
  hexByte(0x80 | (pool[r]! & 0x3f), 19);
  hexByte(pool[r + 1]!, 21);
  for (let i = 2; i < 8; i++) hexByte(pool[r + i]!, 20 + 2 * i);
  return text.toString("latin1", 0, 36);
}

/** Any UUID, either case: what the SDK accepts where it reads an id a server chose. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A job id a producer may choose (core §ids, JSON format §id): a UUIDv7 in
 * lowercase hex, version nibble 7, RFC 9562 variant. uuidv7() makes only such ids.
 */
export const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
