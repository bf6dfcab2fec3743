/** Other valid encodings of the same protobuf message (fields shuffled, unknown fields and groups, split messages, overlong varints), for property (4) of test/unit/wire*.test.ts. */
import { type DescMessage } from "@bufbuild/protobuf";
import { expect, it } from "vitest";
import type { Job } from "../../src/model/job.js";
import { meaning } from "./wire-arbitraries.js";

export interface Raw {
  no: number;
  wt: number;
  /** Payload: varint bytes, fixed bytes, or the contents of a length-delimited field. */
  data: Uint8Array;
}

export function readVarint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const c = b[p++]!;
    v += (c & 0x7f) * mul;
    mul *= 128;
    if (!(c & 0x80)) return [v, p];
  }
}

/** Past the end tag of the group that starts at `p`: a group's data is its fields and its end tag. */
export function skipGroup(b: Uint8Array, p: number, no: number): number {
  for (;;) {
    const [tag, q] = readVarint(b, p);
    p = q;
    const wt = tag % 8;
    if (wt === 4) {
      if (Math.floor(tag / 8) !== no) throw new Error("mismatched group in a test fixture");
      return p;
    }
    if (wt === 0) while (b[p++]! & 0x80);
    else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) {
      const [n, q2] = readVarint(b, p);
      p = q2 + n;
    } else p = skipGroup(b, p, Math.floor(tag / 8));
  }
}

export function parseRaw(b: Uint8Array): Raw[] {
  const out: Raw[] = [];
  let p = 0;
  while (p < b.length) {
    const [tag, q] = readVarint(b, p);
    p = q;
    const no = Math.floor(tag / 8);
    const wt = tag % 8;
    let start = p;
    if (wt === 0) while (b[p++]! & 0x80);
    else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else if (wt === 2) {
      const [n, q2] = readVarint(b, p);
      start = q2;
      p = q2 + n;
    } else if (wt === 3) p = skipGroup(b, p, no);
    else throw new Error(`unexpected wire type ${wt} in a test fixture`);
    out.push({ no, wt, data: b.subarray(start, p) });
  }
  return out;
}

/** A varint, sometimes one byte longer than it needs to be (still valid, up to ten bytes). */
export function varint(v: number, rnd: () => number, overlong: boolean): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  if (overlong && out.length < 5 && rnd() < 0.1) {
    out[out.length - 1]! |= 0x80;
    out.push(0);
  }
  return out;
}

export function serialize(fields: Raw[], rnd: () => number): Uint8Array {
  const parts: number[] = [];
  for (const f of fields) {
    parts.push(...varint(f.no * 8 + f.wt, rnd, true));
    if (f.wt === 2) parts.push(...varint(f.data.length, rnd, true));
    parts.push(...f.data);
  }
  return new Uint8Array(parts);
}

export function unknownField(rnd: () => number): Raw {
  const no = 1000 + Math.floor(rnd() * 50);
  switch (Math.floor(rnd() * 5)) {
    case 0:
      return { no, wt: 0, data: new Uint8Array([0xff, 0xff, 0x01]) };
    case 1:
      return { no, wt: 1, data: new Uint8Array(8).fill(7) };
    case 2:
      return { no, wt: 5, data: new Uint8Array([1, 2, 3, 4]) };
    case 3:
      // Length-delimited, shaped like a message with a field of the same number as a real one.
      return { no, wt: 2, data: new Uint8Array([0x0a, 0x02, 0x68, 0x69]) };
    default: {
      // A group: start tag (written by serialize), a varint field, a nested group, the end tag.
      const end = varint(no * 8 + 4, rnd, false);
      const inner = [0x08, 0x01, ...varint(7 * 8 + 3, rnd, false), 0x10, 0x02, ...varint(7 * 8 + 4, rnd, false)];
      return { no, wt: 3, data: new Uint8Array([...inner, ...end]) };
    }
  }
}

/**
 * Another encoding of `bytes` (a message of type `desc`) with the same meaning.
 * Fields with the same number keep their relative order (it matters for repeated
 * fields); everything else may move.
 */
export function reencode(bytes: Uint8Array, desc: DescMessage, rnd: () => number): Uint8Array {
  const out: Raw[] = [];
  for (const f of parseRaw(bytes)) {
    const fd = desc.fields.find((x) => x.number === f.no);
    if (!fd || f.wt !== 2) {
      out.push(f);
      continue;
    }
    if (fd.fieldKind === "message") {
      const body = reencode(f.data, fd.message, rnd);
      if (rnd() < 0.3) {
        // Split a singular message in two occurrences: the decoder must merge them.
        const sub = parseRaw(body);
        const cut = Math.floor(rnd() * (sub.length + 1));
        out.push({ no: f.no, wt: 2, data: serialize(sub.slice(0, cut), rnd) }, { no: f.no, wt: 2, data: serialize(sub.slice(cut), rnd) });
      } else out.push({ no: f.no, wt: 2, data: body });
    } else if (fd.fieldKind === "list" && fd.listKind === "message") {
      out.push({ no: f.no, wt: 2, data: reencode(f.data, fd.message, rnd) });
    } else if (fd.fieldKind === "list" && fd.listKind === "enum") {
      // Packed to unpacked, or two packed runs.
      const items: Uint8Array[] = [];
      for (let p = 0; p < f.data.length;) {
        const s = p;
        while (f.data[p++]! & 0x80);
        items.push(f.data.subarray(s, p));
      }
      if (rnd() < 0.5) for (const it of items) out.push({ no: f.no, wt: 0, data: it });
      else {
        const cut = Math.floor(rnd() * (items.length + 1));
        const run = (xs: Uint8Array[]) => new Uint8Array(xs.flatMap((x) => [...x]));
        out.push({ no: f.no, wt: 2, data: run(items.slice(0, cut)) }, { no: f.no, wt: 2, data: run(items.slice(cut)) });
      }
    } else if (fd.fieldKind === "map" && fd.mapKind === "message") {
      const entry = parseRaw(f.data).map((e) => (e.no === 2 && e.wt === 2 ? { ...e, data: reencode(e.data, fd.message, rnd) } : e));
      if (rnd() < 0.5) entry.reverse();
      if (rnd() < 0.2) entry.splice(Math.floor(rnd() * (entry.length + 1)), 0, unknownField(rnd));
      out.push({ no: f.no, wt: 2, data: serialize(entry, rnd) });
    } else out.push(f);
  }
  // Interleave the fields at random, keeping each field number's own order.
  const queues = new Map<number, Raw[]>();
  for (const f of out) queues.set(f.no, [...(queues.get(f.no) ?? []), f]);
  const mixed: Raw[] = [];
  const live = [...queues.values()];
  while (live.length) {
    const i = Math.floor(rnd() * live.length);
    mixed.push(live[i]!.shift()!);
    if (live[i]!.length === 0) live.splice(i, 1);
  }
  const unknowns = Math.floor(rnd() * 3);
  for (let k = 0; k < unknowns; k++) mixed.splice(Math.floor(rnd() * (mixed.length + 1)), 0, unknownField(rnd));
  return serialize(mixed, rnd);
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): void {
  expect(Buffer.from(a).toString("hex")).toBe(Buffer.from(b).toString("hex"));
}
