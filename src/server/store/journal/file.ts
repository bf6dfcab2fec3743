/**
 * One journal file, appended to with plain node:fs. A write is all-or-nothing
 * as far as later writes are concerned: when one fails (a full disk, an I/O
 * error) the file is cut back to where it was, so a half-written record never
 * sits in front of good ones.
 */
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { openSync, fsyncSync, closeSync, constants, writevSync, fdatasyncSync, ftruncateSync } from "node:fs";
import { join } from "node:path";

export type FsyncMode = "always" | "none";

/** Faults to inject in tests: called before each write; throw to make it fail. */
export interface FileFaults {
  beforeWrite?(bytes: number): void;
}

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
  ) {}

  /** Opens an existing file for appending at `size` (replay already cut off any torn tail). */
  static async openAt(dir: string, gen: number, size: number, fsync: FsyncMode, faults?: FileFaults): Promise<JournalFile> {
    const path = join(dir, fileName(gen));
    const dsync = fsync === "always" && DSYNC !== undefined;
    const handle = await open(path, dsync ? constants.O_RDWR | DSYNC : "r+");
    await handle.truncate(size);
    return new JournalFile(handle, path, gen, size, fsync, faults, dsync);
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
      // A snapshot replaces the files before it, so it is synced even with fsync "none".
      await handle.datasync();
      await rename(tmp, path);
      syncDir(dir);
    } catch (e) {
      await handle.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e;
    }
    return new JournalFile(handle, path, gen, size, fsync, faults, dsync);
  }

  /** Appends the buffers; with fsync "always" they are on stable storage when this resolves. */
  async append(buffers: Buffer[]): Promise<void> {
    const start = this.size;
    let want = 0;
    for (const b of buffers) want += b.length;
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
      await this.handle.truncate(start).catch(() => {});
      throw e;
    }
  }

  /**
   * append() on this thread: the event loop waits for the disk, and is spared
   * the trip to the thread pool and back, which costs a small group commit
   * about as much time and CPU as the write itself. For small groups only
   * (commit-path.ts decides). Same outcome as append(): on stable storage
   * (fsync "always") when it returns, the file cut back when it throws.
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
      try {
        ftruncateSync(fd, start);
      } catch {
        // As append(): the write's own error is the one to report.
      }
      throw e;
    }
  }

  async close(): Promise<void> {
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
