/**
 * CRC-32 (IEEE) of a record: node:zlib's native crc32 where the runtime has it
 * (Node 20.15+, 22.2+), else a table-driven one. Both give the same value.
 */
import * as zlib from "node:zlib";

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Slicing-by-8 tables: table k gives the CRC of a byte followed by k zero bytes. */
let tables: Int32Array | undefined;

function slices(): Int32Array {
  if (tables) return tables;
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 8; k++) for (let n = 0; n < 256; n++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  return (tables = t);
}

/** The CRC of data[start, end) in JavaScript, eight bytes a step. */
function sliceCrc32(data: Uint8Array, start: number, end: number): number {
  const t = slices();
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function tableCrc32(data: Uint8Array): number {
  return sliceCrc32(data, 0, data.length);
}

export const crc32: (data: Uint8Array) => number = native ? (d) => native(d) >>> 0 : tableCrc32;

/**
 * Below this many bytes the JavaScript CRC is cheaper than a call into zlib
 * (which also needs a view of the range made for it): most job records are
 * 100-200 bytes, and a start-up checks a million of them.
 */
const NATIVE_FROM = 256;

/** The CRC of data[start, end), as crc32(data.subarray(start, end)). */
export function crc32Range(data: Uint8Array, start: number, end: number): number {
  return end - start < NATIVE_FROM || !native ? sliceCrc32(data, start, end) : native(data.subarray(start, end)) >>> 0;
}

/** Exposed so a test can check the implementations agree. */
export { tableCrc32 };
