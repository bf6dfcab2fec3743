/**
 * Reads a journal file's whole records in chunks: start-up memory holds one
 * chunk of the file at a time rather than all of it (a journal of a million
 * jobs is some 400 MB), and records are checked and handed on by scanFrames() as on a
 * whole buffer, with the same end (clean, torn or corrupt at an offset of the file).
 */
import { open } from "node:fs/promises";
import { HEADER_BYTES, scanFrames, type FrameSink, type ScanEnd } from "./records.js";

/** Bytes read at a time; a record longer than this gets a buffer of its own size. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface FileScan {
  end: ScanEnd;
  /** The file's length when it was read. */
  length: number;
}

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
