/**
 * The durable single-node store: the in-process state machine stays
 * authoritative, and every change it reports (store/changes.ts) is written to
 * an append-only journal with group commit. Whenever changes are pending and no
 * write is running, everything pending is written as one batch (then
 * fdatasync'd with fsync "always"); whoever must not answer before their change
 * is durable awaits durable(), which resolves with the batch that covers it.
 *
 * Changes are coalesced: a job that changed five times since the last write is
 * written once, as it is now. When the file has grown well past the last
 * snapshot, the next write is a compaction instead: a new generation holding
 * one record per live thing replaces the file, which bounds both disk use and
 * start-up time.
 */
import { mkdir, access, constants as fsConstants, writeFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { OjsError } from "../../../model/errors.js";
import type { ServerCore } from "../../core.js";
import type { ChangeSink } from "../changes.js";
import { JournalFile, syncDir, type FileFaults, type FsyncMode } from "./file.js";
import { frame, savedCron, savedJob, savedWorkflow } from "./records.js";
import { replay, type ReplayResult } from "./replay.js";
import { header, queueRecord, snapshot } from "./snapshot.js";

export type { FsyncMode } from "./file.js";

export interface JournalOptions {
  /** The data directory; created when missing. */
  dir: string;
  /** "always" (default): fdatasync before answering; "none": survives a process crash, not a power loss. */
  fsync?: FsyncMode;
  /** Compact once the file exceeds this many bytes and twice its last snapshot; default 64 MiB. */
  compactAtBytes?: number;
  /** Where the one line about a dropped tail (and other notices) goes; default console.warn. */
  log?: (line: string) => void;
  /** Test hook: faults injected into file writes (also settable later through `journal.faults`). */
  faults?: FileFaults;
}

export interface JournalStats {
  gen: number;
  bytes: number;
  writes: number;
  records: number;
  compactions: number;
  failures: number;
  replayed: ReplayResult;
}

interface Waiter {
  mark: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Journal implements ChangeSink {
  private file!: JournalFile;
  private readonly fsync: FsyncMode;
  private readonly compactAt: number;
  private snapshotBytes = 0;
  private dirtyJobs = new Set<string>();
  private dirtyQueues = new Set<string>();
  private dirtyWorkflows = new Set<string>();
  private dirtyCrons = new Set<string>();
  private dirtySchemas = new Map<string, { type: string; version: string | number }>();
  private resetPending = false;
  /** Records collected for a write that failed: written first by the next attempt. */
  private retry: Buffer[] = [];
  private marked = 0;
  private durableMark = 0;
  private waiters: Waiter[] = [];
  private writing = false;
  private kicked = false;
  private closed = false;
  private lastError: unknown;
  readonly stats: JournalStats;
  /** Test hook: consulted before every file write; a fault test sets `beforeWrite` to throw. */
  readonly faults: FileFaults;

  private constructor(
    private readonly core: ServerCore,
    private readonly opts: JournalOptions,
    replayed: ReplayResult,
  ) {
    this.fsync = opts.fsync ?? "always";
    this.compactAt = opts.compactAtBytes ?? 64 * 1024 * 1024;
    this.faults = opts.faults ?? {};
    this.stats = { gen: 0, bytes: 0, writes: 0, records: 0, compactions: 0, failures: 0, replayed };
  }

  /**
   * Opens (or creates) the data directory, replays it into `core`, and starts
   * journaling. Fails with a clear message when the directory cannot be written.
   */
  static async open(core: ServerCore, opts: JournalOptions): Promise<Journal> {
    const log = opts.log ?? ((l: string) => console.warn(l));
    await checkWritable(opts.dir);
    const replayed = await replay(opts.dir, core, log);
    const j = new Journal(core, opts, replayed);
    const fsync = opts.fsync ?? "always";
    if (replayed.gen === 0) {
      j.file = await JournalFile.create(opts.dir, 1, [header(1)], fsync, j.faults);
    } else if (replayed.size > j.compactAt / 2) {
      // A long journal is compacted at once, so the next start is quick.
      const old = await JournalFile.openAt(opts.dir, replayed.gen, replayed.size, fsync, j.faults);
      j.file = await JournalFile.create(opts.dir, replayed.gen + 1, snapshot(core, replayed.gen + 1), fsync, j.faults);
      await old.remove();
      syncDir(opts.dir);
      j.stats.compactions++;
    } else {
      j.file = await JournalFile.openAt(opts.dir, replayed.gen, replayed.size, fsync, j.faults);
    }
    j.snapshotBytes = j.file.size;
    j.stats.gen = j.file.gen;
    j.stats.bytes = j.file.size;
    j.attach();
    return j;
  }

  private attach(): void {
    this.core.store.changes = this;
    this.core.cron.onChange = (name) => this.cron(name);
    this.core.schemas.onChange = (type, version) => this.schema(type, version);
  }

  private detach(): void {
    if (this.core.store.changes === this) this.core.store.changes = undefined;
    this.core.cron.onChange = undefined;
    this.core.schemas.onChange = undefined;
  }

  // --- ChangeSink ------------------------------------------------------------------

  job(id: string): void {
    this.dirtyJobs.add(id);
    this.touch();
  }
  queue(name: string): void {
    this.dirtyQueues.add(name);
    this.touch();
  }
  workflow(id: string): void {
    this.dirtyWorkflows.add(id);
    this.touch();
  }
  cron(name: string): void {
    this.dirtyCrons.add(name);
    this.touch();
  }
  schema(type: string, version: string | number): void {
    this.dirtySchemas.set(`${type}\u0000${version}`, { type, version });
    this.touch();
  }
  /** Everything was dropped (the server's reset()). */
  reset(): void {
    this.resetPending = true;
    this.dirtyJobs.clear();
    this.dirtyQueues.clear();
    this.dirtyWorkflows.clear();
    this.dirtyCrons.clear();
    this.dirtySchemas.clear();
    this.touch();
  }

  private touch(): void {
    this.marked++;
    if (this.kicked || this.writing || this.closed) return;
    this.kicked = true;
    // After the current operation (and any others already in this turn), never inside it.
    setImmediate(() => {
      this.kicked = false;
      void this.writeLoop();
    });
  }

  /**
   * Resolves once every change made so far is durable (in the chosen fsync mode);
   * undefined when it already is, so that callers with nothing to wait for pay nothing.
   * Rejects with a retryable "unavailable" error when the write fails.
   */
  durable(): Promise<void> | undefined {
    if (this.marked === this.durableMark) return undefined;
    if (this.closed) return Promise.reject(unavailable("the server is shutting down", undefined));
    const mark = this.marked;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ mark, resolve, reject });
      if (!this.writing && !this.kicked) {
        this.kicked = true;
        setImmediate(() => {
          this.kicked = false;
          void this.writeLoop();
        });
      }
    });
  }

  private async writeLoop(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.marked !== this.durableMark && !this.closed) {
        const mark = this.marked;
        const compact = this.file.size > this.compactAt && this.file.size > this.snapshotBytes * 2;
        try {
          if (compact) await this.compact();
          else await this.appendPending();
        } catch (e) {
          this.stats.failures++;
          this.lastError = e;
          this.settle(mark, e);
          // No spinning on a broken disk: the next change or durable() tries again.
          return;
        }
        this.lastError = undefined;
        this.durableMark = mark;
        this.settle(mark, undefined);
      }
    } finally {
      this.writing = false;
    }
  }

  private collect(): Buffer[] {
    const out = this.retry;
    this.retry = [];
    const core = this.core;
    if (this.resetPending) {
      this.resetPending = false;
      out.push(frame({ k: "reset" }));
    }
    for (const s of this.dirtySchemas.values()) {
      const rec = core.schemas.peek(s.type, s.version);
      out.push(frame(rec ? { k: "schema", r: rec } : { k: "schema-", type: s.type, version: s.version }));
    }
    this.dirtySchemas.clear();
    for (const name of this.dirtyQueues) {
      const r = queueRecord(core, name);
      if (r) out.push(frame(r));
    }
    this.dirtyQueues.clear();
    for (const id of this.dirtyWorkflows) {
      const wf = core.store.workflows.peek(id);
      out.push(frame(wf ? { k: "wf", r: savedWorkflow(wf) } : { k: "wf-", id }));
    }
    this.dirtyWorkflows.clear();
    for (const id of this.dirtyJobs) {
      const rec = core.store.peek(id);
      out.push(frame(rec ? { k: "job", r: savedJob(rec) } : { k: "job-", id }));
    }
    this.dirtyJobs.clear();
    for (const name of this.dirtyCrons) {
      const c = core.cron.peek(name);
      out.push(frame(c ? { k: "cron", r: savedCron(c) } : { k: "cron-", name }));
    }
    this.dirtyCrons.clear();
    return out;
  }

  private async appendPending(): Promise<void> {
    const buffers = this.collect();
    if (buffers.length === 0) return;
    try {
      await this.file.append(buffers);
    } catch (e) {
      // Kept for the next attempt: these changes are in memory but not yet on disk.
      this.retry = buffers;
      throw e;
    }
    this.stats.writes++;
    this.stats.records += buffers.length;
    this.stats.bytes = this.file.size;
  }

  /** A new generation: one record per live thing, written whole before the old file goes. */
  private async compact(): Promise<void> {
    const gen = this.file.gen + 1;
    // The snapshot reads the state as it is now, which includes every pending change.
    const content = snapshot(this.core, gen);
    const pending = { retry: this.retry, jobs: this.dirtyJobs, queues: this.dirtyQueues, wfs: this.dirtyWorkflows, crons: this.dirtyCrons, schemas: this.dirtySchemas, reset: this.resetPending };
    this.retry = [];
    this.dirtyJobs = new Set();
    this.dirtyQueues = new Set();
    this.dirtyWorkflows = new Set();
    this.dirtyCrons = new Set();
    this.dirtySchemas = new Map();
    this.resetPending = false;
    let next: JournalFile;
    try {
      next = await JournalFile.create(this.opts.dir, gen, content, this.fsync, this.faults);
    } catch (e) {
      // Nothing changed on disk: the old generation still stands, and what was pending still is.
      for (const id of pending.jobs) this.dirtyJobs.add(id);
      for (const q of pending.queues) this.dirtyQueues.add(q);
      for (const w of pending.wfs) this.dirtyWorkflows.add(w);
      for (const c of pending.crons) this.dirtyCrons.add(c);
      for (const [k, v] of pending.schemas) this.dirtySchemas.set(k, v);
      this.resetPending ||= pending.reset;
      this.retry = pending.retry;
      throw e;
    }
    const old = this.file;
    this.file = next;
    this.snapshotBytes = next.size;
    await old.remove();
    syncDir(this.opts.dir);
    this.stats.compactions++;
    this.stats.gen = gen;
    this.stats.bytes = next.size;
  }

  private settle(mark: number, error: unknown): void {
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (error !== undefined) w.reject(unavailable("the change could not be written to the journal", error));
      else if (w.mark <= mark) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /** Whether the last write failed (the server reports itself degraded). */
  get failing(): boolean {
    return this.lastError !== undefined;
  }

  /** Writes what is pending, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing) await new Promise((r) => setImmediate(r));
    if (this.marked !== this.durableMark) await this.writeLoop().catch(() => {});
    this.closed = true;
    this.detach();
    this.settle(this.marked, this.marked === this.durableMark ? undefined : new Error("closed"));
    await this.file.close();
  }
}

function unavailable(message: string, cause: unknown): OjsError {
  const why = cause instanceof Error ? `: ${(cause as NodeJS.ErrnoException).code ?? ""} ${cause.message}`.replace(/: +/, ": ") : "";
  return new OjsError(`${message}${why}`, { code: "unavailable", retryable: true });
}

/** An unwritable or unusable data directory is refused at start, with the reason. */
async function checkWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, fsConstants.W_OK | fsConstants.R_OK);
    const probe = join(dir, `.probe-${process.pid}`);
    await writeFile(probe, "");
    await unlink(probe);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new OjsError(`data directory ${dir} is not usable: ${err.code ?? ""} ${err.message}`.trim(), { code: "unavailable" });
  }
}
