/**
 * One journal file, appended to with plain node:fs. A write is all-or-nothing
 * as far as later writes are concerned: when one fails (a full disk, an I/O
 * error) the file is cut back to where it was, so a half-written record never
 * sits in front of good ones.
 *
 * With fsync "always" the file keeps zero-filled space ahead of its records
 * (preallocated and synced; see SPARE_BYTES): a durable write into it changes
 * no file size, so the filesystem has no inode to write besides the data and
 * the cache flush. Replay reads eight zero bytes where a record would start as
 * the end of the records (no record is empty); a clean close cuts the spare
 * space off again.
 */
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { openSync, fsyncSync, closeSync, constants, writevSync, fdatasyncSync, ftruncateSync } from "node:fs";
import { join } from "node:path";

export type FsyncMode = "always" | "none";

/** Faults to inject in tests: called before each write; throw to make it fail. */
export interface FileFaults {
  beforeWrite?(bytes: number): void;
  /** Before zero-filling spare space (not a record write: its failure fails no request). */
  beforeZeroFill?(bytes: number): void;
}

/**
 * Zero-filled space kept ahead of the records with fsync "always", added this
 * much at a time once less than SPARE_LOW_BYTES is left. On ext4 (a VM's
 * virtio disk) an O_DSYNC write of 200 bytes into such space took 150-180 µs
 * and 50 µs of CPU, against 190-230 µs and 65 µs for an append that grows the
 * file (which also writes the inode). Filling 1 MiB costs 2.5-6.5 ms (in the
 * thread pool, beside the record writes) and 0.6 ms of CPU.
 */
export const SPARE_BYTES = 1024 * 1024;
export const SPARE_LOW_BYTES = 256 * 1024;

export const fileName = (gen: number): string => `journal-${String(gen).padStart(8, "0")}.log`;
export const FILE_RE = /^journal-(\d{8})\.log$/;

/**
 * With fsync "always", a file opened for appending is opened O_DSYNC where the
 * platform has it: each write returns once its data is on stable storage, as a
 * write followed by fdatasync would, in one system call instead of two (one
 * trip to the thread pool: about half the time and CPU of a group commit).
 */
const DSYNC: number | undefined = (constants as { O_DSYNC?: number }).O_DSYNC;

export class JournalFile {
  private constructor(
    private handle: FileHandle,
    readonly path: string,
    readonly gen: number,
    public size: number,
    private readonly fsync: FsyncMode,
    private readonly faults: FileFaults | undefined,
    /** Whether the handle was opened O_DSYNC (its writes need no fdatasync after them). */
    private readonly dsync = false,
    /** Zero-filled space to keep ahead of the records (0: none, as with fsync "none"). */
    private readonly spareBytes = 0,
    /** The file's bytes before this offset are records or synced zeros (zeros from `size` on). */
    private zeroedTo = size,
  ) {}

  /** A zero fill running in the thread pool, and the cut (failed write) count it started after. */
  private filling: Promise<void> | undefined;
  private cuts = 0;
  /** After a zero fill failed: none is tried again before the records reach this offset. */
  private fillAgainAt = 0;

  /** Bytes of zero-filled space a file keeps ahead of its records: none without syncs to spare. */
  static spareFor(fsync: FsyncMode): number {
    return fsync === "always" ? SPARE_BYTES : 0;
  }

  /** Opens an existing file for appending at `size` (replay already cut off any torn tail). */
  static async openAt(dir: string, gen: number, size: number, fsync: FsyncMode, faults?: FileFaults): Promise<JournalFile> {
    const path = join(dir, fileName(gen));
    const dsync = fsync === "always" && DSYNC !== undefined;
    const handle = await open(path, dsync ? constants.O_RDWR | DSYNC : "r+");
    // Whatever followed the last whole record (a torn write, zeros that were not synced) goes: the space is filled afresh.
    await handle.truncate(size);
    return new JournalFile(handle, path, gen, size, fsync, faults, dsync, JournalFile.spareFor(fsync));
  }

  /**
   * Writes a complete new file under a temporary name, syncs it, and only then
   * gives it its real name: a crash leaves either the old generation or the
   * whole new one, never half of a snapshot.
   */
  static async create(dir: string, gen: number, content: Buffer[], fsync: FsyncMode, faults?: FileFaults): Promise<JournalFile> {
    const path = join(dir, fileName(gen));
    const tmp = `${path}.tmp`;
    // Owner only: the journal holds webhook secrets and job payloads. O_DSYNC for the appends that follow (see DSYNC).
    const dsync = fsync === "always" && DSYNC !== undefined;
    const handle = await open(tmp, dsync ? constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | DSYNC : "w+", 0o600);
    let size = 0;
    try {
      faults?.beforeWrite?.(content.reduce((n, b) => n + b.length, 0));
      for (let i = 0; i < content.length; i += 512) {
        const chunk = content.slice(i, i + 512);
        const { bytesWritten } = await handle.writev(chunk);
        size += bytesWritten;
      }
      // The spare space goes with the snapshot, synced with it.
      const spare = JournalFile.spareFor(fsync);
      if (spare > 0) await handle.write(Buffer.alloc(spare), 0, spare, size);
      // A snapshot replaces the files before it, so it is synced even with fsync "none".
      await handle.datasync();
      await rename(tmp, path);
      syncDir(dir);
    } catch (e) {
      await handle.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e;
    }
    const spare = JournalFile.spareFor(fsync);
    return new JournalFile(handle, path, gen, size, fsync, faults, dsync, spare, size + spare);
  }

  /**
   * Whether `bytes` more can be written now on the event loop: not into space
   * a zero fill is still writing (append() waits for the fill instead).
   */
  fits(bytes: number): boolean {
    return this.filling === undefined || this.size + bytes <= this.zeroedTo;
  }

  /**
   * Starts filling more zeros ahead of the records when little is left, in the
   * thread pool, beside the record writes (which stay below what is filled).
   * A fill that fails fails no request: appends then grow the file as without
   * spare space, and the next fill is tried a SPARE_BYTES of records later.
   */
  reserve(): void {
    if (this.spareBytes === 0 || this.filling || this.zeroedTo - this.size >= SPARE_LOW_BYTES || this.size < this.fillAgainAt) return;
    const from = Math.max(this.zeroedTo, this.size);
    const bytes = this.spareBytes;
    // The one-line cleanup runs as a reaction, so always after `filling` is set (never before, as a
    // fill that failed at once would clear it inside the assignment and leave it set for good).
    this.filling = this.fill(from, bytes, this.cuts).finally(() => {
      this.filling = undefined;
    });
  }

  private async fill(from: number, bytes: number, cuts: number): Promise<void> {
    try {
      this.faults?.beforeZeroFill?.(bytes);
      const { bytesWritten } = await this.handle.write(Buffer.alloc(bytes), 0, bytes, from);
      if (!this.dsync) await this.handle.datasync();
      // A write that failed meanwhile cut the file back: this space may lie past the cut, so it is not counted.
      if (bytesWritten === bytes && cuts === this.cuts) this.zeroedTo = from + bytes;
    } catch {
      this.fillAgainAt = this.size + bytes;
    }
  }

  /** Appends the buffers; with fsync "always" they are on stable storage when this resolves. */
  async append(buffers: Buffer[]): Promise<void> {
    let want = 0;
    for (const b of buffers) want += b.length;
    // Never into space a zero fill is still writing.
    if (!this.fits(want)) await this.filling;
    const start = this.size;
    try {
      this.faults?.beforeWrite?.(want);
      let written = 0;
      // writev takes at most IOV_MAX (1024) buffers at a time.
      for (let i = 0; i < buffers.length; i += 1024) {
        const part = buffers.slice(i, i + 1024);
        const { bytesWritten } = await this.handle.writev(part, start + written);
        let partBytes = 0;
        for (const b of part) partBytes += b.length;
        if (bytesWritten !== partBytes) throw Object.assign(new Error(`short write: ${bytesWritten} of ${partBytes} bytes`), { code: "EIO" });
        written += bytesWritten;
      }
      if (this.fsync === "always" && !this.dsync) await this.handle.datasync();
      this.size = start + want;
    } catch (e) {
      this.cut(start);
      await this.handle.truncate(start).catch(() => {});
      throw e;
    }
  }

  /**
   * append() on this thread: the event loop waits for the disk, and is spared
   * the trip to the thread pool and back, which costs a small group commit
   * about as much time and CPU as the write itself. For small groups only
   * (commit-path.ts decides), and only when fits(). Same outcome as append():
   * on stable storage (fsync "always") when it returns, the file cut back when it throws.
   */
  appendSync(buffers: Buffer[]): void {
    const start = this.size;
    let want = 0;
    for (const b of buffers) want += b.length;
    const fd = this.handle.fd;
    try {
      this.faults?.beforeWrite?.(want);
      const written = writevSync(fd, buffers, start);
      if (written !== want) throw Object.assign(new Error(`short write: ${written} of ${want} bytes`), { code: "EIO" });
      if (this.fsync === "always" && !this.dsync) fdatasyncSync(fd);
      this.size = start + want;
    } catch (e) {
      this.cut(start);
      try {
        ftruncateSync(fd, start);
      } catch {
        // As append(): the write's own error is the one to report.
      }
      throw e;
    }
  }

  /** A failed write is cut off at `start`: the zeros after it are no longer known to be there. */
  private cut(start: number): void {
    this.cuts++;
    this.zeroedTo = start;
  }

  /** Closes the file, without its spare space: a cleanly closed journal ends with its last record. */
  async close(): Promise<void> {
    await this.filling;
    if (this.spareBytes > 0) await this.handle.truncate(this.size).catch(() => {});
    await this.handle.close().catch(() => {});
  }

  async remove(): Promise<void> {
    await this.close();
    await unlink(this.path).catch(() => {});
  }
}

/** A rename is durable once the directory entry is: sync the directory (where the platform allows). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the rename stands as the OS keeps it.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
