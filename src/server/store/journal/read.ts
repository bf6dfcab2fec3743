/**
 * Reads a journal file's whole records in chunks: start-up memory holds one
 * chunk of the file at a time rather than all of it (a journal of a million
 * jobs is some 400 MB), and records are checked and handed on by scanFrames() as on a
 * whole buffer, with the same end (clean, torn or corrupt at an offset of the file).
 *
 * Zeros where a record would start are the file's spare space (file.ts): when
 * only zeros follow to the end of the file, the records end cleanly there;
 * when other bytes follow them (a write cut short whose first bytes did not
 * reach the disk) the end is torn, and reported as such.
 */
import { open, type FileHandle } from "node:fs/promises";
import { HEADER_BYTES, scanFrames, zeroFrom, type FrameSink, type ScanEnd } from "./records.js";

/** Bytes read at a time; a record longer than this gets a buffer of its own size. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface FileScan {
  /** Never "zeros": spare space followed only by zeros ends cleanly (`length` is where the records end). */
  end: Exclude<ScanEnd, { kind: "zeros" }>;
  /** The file's length when it was read, or where the records end when zeros follow them. */
  length: number;
}

const ZEROS_THEN_BYTES = "a record cut short (zeros, then other bytes)";

export async function scanFile(path: string, onFrame: FrameSink, chunkBytes = CHUNK_BYTES): Promise<FileScan> {
  const handle = await open(path, "r");
  try {
    const length = (await handle.stat()).size;
    let buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(length, HEADER_BYTES)));
    // `base`: the file offset of buf[0]; `have`: bytes of buf filled (a record carried over from the last chunk, then new ones).
    let base = 0;
    let have = 0;
    for (;;) {
      const want = Math.min(buf.length - have, length - base - have);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(buf, have + got, want - got, base + have + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      have += got;
      const atEnd = base + have >= length || got === 0;
      const end = scanFrames(buf.subarray(0, have), onFrame);
      if (end.kind === "zeros") {
        const at = base + end.offset;
        const zeros = zeroFrom(buf, end.offset, have) && (atEnd || (await zeroTail(handle, buf, base + have, length)));
        return zeros
          ? { end: { kind: "clean" }, length: at }
          : { end: { kind: "torn", offset: at, reason: ZEROS_THEN_BYTES }, length: Math.max(length, base + have) };
      }
      if (end.kind === "clean") {
        if (atEnd) return { end, length: base + have };
        base += have;
        have = 0;
        continue;
      }
      if (end.kind === "corrupt" || atEnd) return { end: { ...end, offset: base + end.offset }, length: Math.max(length, base + have) };
      // A record runs past this chunk: carry it to the front and read the rest behind it.
      const rest = have - end.offset;
      const need = rest >= HEADER_BYTES ? HEADER_BYTES + buf.readUInt32LE(end.offset) : HEADER_BYTES;
      const next = need > buf.length ? Buffer.allocUnsafe(need) : buf;
      buf.copy(next, 0, end.offset, have);
      buf = next;
      base += end.offset;
      have = rest;
    }
  } finally {
    await handle.close();
  }
}

/** Whether the file holds only zeros from `from` to `length` (read through `buf`). */
async function zeroTail(handle: FileHandle, buf: Buffer, from: number, length: number): Promise<boolean> {
  for (let at = from; at < length;) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, length - at), at);
    if (bytesRead === 0) return true;
    if (!zeroFrom(buf, 0, bytesRead)) return false;
    at += bytesRead;
  }
  return true;
}
