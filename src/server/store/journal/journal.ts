/**
 * The durable single-node store: the in-process state machine stays
 * authoritative, and every change it reports (store/changes.ts) is written to
 * an append-only journal with group commit. Whenever changes are pending and no
 * write is running, everything pending is written as one batch (then
 * fdatasync'd with fsync "always"); whoever must not answer before their change
 * is durable awaits durable(), which resolves with the batch that covers it.
 *
 * Changes are coalesced: a job that changed five times since the last write is
 * written once, as it is now: whole when it is new, else as a step
 * (job-step.ts). When the file has grown well past the last
 * snapshot, the next write is a compaction instead: a new generation holding
 * one record per live thing replaces the file, which bounds both disk use and
 * start-up time.
 */
import { mkdir, access, constants as fsConstants, writeFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { OjsError } from "../../../model/errors.js";
import type { ServerCore } from "../../core.js";
import type { ChangeSink } from "../changes.js";
import type { JobRecord } from "../store.js";
import { JournalFile, syncDir, type FileFaults, type FsyncMode } from "./file.js";
import { CommitPath, small, type CommitMode } from "./commit-path.js";
import { collectCore } from "./core-records.js";
import { Dirty, type NamedKind } from "./dirty.js";
import { acquireLock } from "./lock.js";
import { JobFramer, savedCron, savedWorkflow, STEPS_FROM } from "./records.js";
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
  /** How small group commits reach the disk (commit-path.ts): "auto" (default), or always on the event loop / the thread pool (tests). */
  commitPath?: CommitMode;
}

export interface JournalStats {
  gen: number;
  bytes: number;
  writes: number;
  /** Of the writes, those made on the event loop (commit-path.ts). */
  onLoop: number;
  records: number;
  compactions: number;
  failures: number;
  replayed: ReplayResult;
}

/** One promise for everyone whose changes one write covers (a frame of 50 acks waits on one, not 50). */
interface Barrier {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function barrier(): Barrier {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

export class Journal implements ChangeSink {
  private file!: JournalFile;
  private readonly fsync: FsyncMode;
  private readonly compactAt: number;
  private snapshotBytes = 0;
  /**
   * Whether a job's later records may be steps (job-step.ts): the file's header
   * says format 3 or later. A file of an older format (kept after an upgrade)
   * gets whole records only, so that the older server can still read it, until
   * the next compaction writes a new generation.
   */
  private steps = false;
  private readonly dirty = new Dirty();
  private readonly path: CommitPath;
  private marked = 0;
  private durableMark = 0;
  /** The changes up to `writingMark` are being written; `current` resolves once they are durable. */
  private writingMark = 0;
  private current: Barrier | undefined;
  /** For changes the running write does not cover: resolved by the write after it. */
  private next: Barrier | undefined;
  private writing = false;
  private kicked = false;
  private closed = false;
  private lastError: unknown;
  private unlock: (() => Promise<void>) | undefined;
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
    this.path = new CommitPath(opts.commitPath);
    this.stats = { gen: 0, bytes: 0, writes: 0, onLoop: 0, records: 0, compactions: 0, failures: 0, replayed };
  }

  /**
   * Opens (or creates) the data directory, replays it into `core`, and starts
   * journaling. Fails with a clear message when the directory cannot be written.
   */
  static async open(core: ServerCore, opts: JournalOptions): Promise<Journal> {
    const log = opts.log ?? ((l: string) => console.warn(l));
    await checkWritable(opts.dir);
    const unlock = await acquireLock(opts.dir);
    let j: Journal;
    try {
      j = await Journal.start(core, opts, log);
    } catch (e) {
      await unlock();
      throw e;
    }
    j.unlock = unlock;
    return j;
  }

  private static async start(core: ServerCore, opts: JournalOptions, log: (line: string) => void): Promise<Journal> {
    // Jobs the store held before the replay (none, when a server starts) have no record in the file.
    const had = core.store.rawJobRecords().next().done !== true;
    const replayed = await replay(opts.dir, core, log);
    const j = new Journal(core, opts, replayed);
    const fsync = opts.fsync ?? "always";
    if (replayed.gen === 0) {
      j.file = await JournalFile.create(opts.dir, 1, [header(1)], fsync, j.faults);
    } else if (replayed.size > j.compactAt / 2 && replayed.records > 2 * replayed.live) {
      // A long journal of mostly stale records is compacted at once, so the next start is quick. One that
      // is mostly live (a recent snapshot) is not rewritten: that would cost every start as much as the replay.
      const old = await JournalFile.openAt(opts.dir, replayed.gen, replayed.size, fsync, j.faults);
      j.file = await JournalFile.create(opts.dir, replayed.gen + 1, snapshot(core, replayed.gen + 1), fsync, j.faults);
      await old.remove();
      syncDir(opts.dir);
      j.stats.compactions++;
    } else {
      j.file = await JournalFile.openAt(opts.dir, replayed.gen, replayed.size, fsync, j.faults);
      j.file.reserve();
    }
    // A file kept as it was counts as a snapshot of its live share, so the next compaction still comes
    // once the file is twice the live state (the stale records it started with included).
    j.snapshotBytes =
      j.stats.compactions > 0 || replayed.records === 0
        ? j.file.size
        : Math.round((j.file.size * Math.min(replayed.live, replayed.records)) / replayed.records);
    j.steps = j.file.gen !== replayed.gen || replayed.version >= STEPS_FROM;
    // Their first record must be whole; the replayed ones' too then (which are which is not known), once.
    if (had) for (const rec of core.store.rawJobRecords()) j.jobCreated(rec.id, rec);
    j.stats.gen = j.file.gen;
    j.stats.bytes = j.file.size;
    j.attach();
    return j;
  }

  private attach(): void {
    this.core.store.changes = this;
    this.core.cron.onChange = (name) => this.cron(name);
    this.core.schemas.onChange = (type, version) => this.schema(type, version);
    this.core.webhooks.changes = this;
    this.core.tenants.changes = this;
  }

  private detach(): void {
    if (this.core.store.changes === this) this.core.store.changes = undefined;
    this.core.cron.onChange = undefined;
    this.core.schemas.onChange = undefined;
    if (this.core.webhooks.changes === this) this.core.webhooks.changes = undefined;
    if (this.core.tenants.changes === this) this.core.tenants.changes = undefined;
  }

  // --- ChangeSink ------------------------------------------------------------------

  // Each names what changed; the next write reads it from the current state.
  readonly job = (id: string, rec?: JobRecord): void => {
    this.dirty.jobs.set(id, rec);
    this.touch();
  };
  readonly jobCreated = (id: string, rec: JobRecord): void => {
    this.dirty.created.add(id);
    this.dirty.jobs.set(id, rec);
    this.touch();
  };
  readonly queue = (name: string): void => this.mark("queues", name);
  readonly workflow = (id: string): void => this.mark("workflows", id);
  readonly cron = (name: string): void => this.mark("crons", name);
  readonly checkpoint = (jobId: string): void => this.mark("checkpoints", jobId);
  readonly webhook = (id: string): void => this.mark("webhooks", id);
  readonly webhookDelivery = (id: string): void => this.mark("deliveries", id);
  readonly tenantLimits = (tenant: string): void => this.mark("tenants", tenant);
  schema(type: string, version: string | number): void {
    this.dirty.schemas.set(`${type}\u0000${version}`, { type, version });
    this.touch();
  }
  /** Everything was dropped (the server's reset()). */
  reset(): void {
    this.dirty.clear();
    this.dirty.reset = true;
    this.touch();
  }

  private mark(kind: NamedKind, name: string): void {
    this.dirty[kind].add(name);
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
    if (this.writing && this.marked === this.writingMark) return (this.current ??= barrier()).promise;
    if (!this.writing && !this.kicked) {
      this.kicked = true;
      setImmediate(() => {
        this.kicked = false;
        void this.writeLoop();
      });
    }
    return (this.next ??= barrier()).promise;
  }

  private async writeLoop(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.marked !== this.durableMark && !this.closed) {
        const mark = this.marked;
        this.writingMark = mark;
        this.current = this.next;
        this.next = undefined;
        const compact = this.file.size > this.compactAt && this.file.size > this.snapshotBytes * 2;
        try {
          if (compact) await this.compact();
          else await this.appendPending();
        } catch (e) {
          this.stats.failures++;
          this.lastError = e;
          this.settle(e);
          // No spinning on a broken disk: the next change or durable() tries again.
          return;
        }
        this.lastError = undefined;
        this.durableMark = mark;
        const done = this.current;
        this.current = undefined;
        done?.resolve();
      }
    } finally {
      this.writing = false;
    }
  }

  /** The records of everything in `d`, as it is now, packed into as few buffers as their size allows, and how many there are. */
  private collect(d: Dirty): { buffers: Buffer[]; records: number } {
    const out: Buffer[] = [];
    const core = this.core;
    const w = new JobFramer(out);
    if (d.reset) w.record({ k: "reset" });
    for (const s of d.schemas.values()) {
      const rec = core.schemas.peek(s.type, s.version);
      w.record(rec ? { k: "schema", r: rec } : { k: "schema-", type: s.type, version: s.version });
    }
    for (const name of d.queues) {
      const r = queueRecord(core, name);
      if (r) w.record(r);
    }
    for (const id of d.workflows) {
      const wf = core.store.workflows.peek(id);
      w.record(wf ? { k: "wf", r: savedWorkflow(wf) } : { k: "wf-", id });
    }
    // A job whose whole record is in the file already goes as a step: it was not created since the last write.
    const steps = this.steps;
    const created = d.created;
    const anyCreated = created.size !== 0;
    // forEach: no [id, record] pair made per job, as a for...of over the entries would.
    d.jobs.forEach((marked, id) => {
      // The record handed over with the change is the live one; a job marked without it (dropped) is looked up.
      const rec = marked ?? core.store.peek(id);
      if (!rec) w.gone(id);
      else if (steps && !(anyCreated && created.has(id))) w.step(rec);
      else w.job(rec);
    });
    // After the jobs: replay restores a checkpoint only for a job it knows.
    for (const id of d.checkpoints) {
      const c = core.store.checkpoints.peek(id);
      w.record(c ? { k: "ckpt", r: c } : { k: "ckpt-", id });
    }
    for (const name of d.crons) {
      const c = core.cron.peek(name);
      w.record(c ? { k: "cron", r: savedCron(c) } : { k: "cron-", name });
    }
    const rest = collectCore(core, d);
    if (rest.length) w.push(...rest);
    w.flush();
    return { buffers: out, records: w.records };
  }

  private async appendPending(): Promise<void> {
    const d = this.dirty.take();
    const { buffers, records } = this.collect(d);
    if (buffers.length === 0) return this.dirty.recycle(d);
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    const onLoop = this.path.onLoop(records, bytes) && this.file.fits(bytes);
    const began = performance.now();
    try {
      if (onLoop) {
        this.file.appendSync(buffers);
        this.stats.onLoop++;
      } else await this.file.append(buffers);
    } catch (e) {
      // Still pending: these changes are in memory but not on disk; the next attempt writes them as they then are.
      this.dirty.mergeBack(d);
      this.dirty.recycle(d);
      throw e;
    }
    this.dirty.recycle(d);
    if (small(records, bytes)) this.path.took(onLoop, performance.now() - began);
    this.file.reserve();
    this.stats.writes++;
    this.stats.records += records;
    this.stats.bytes = this.file.size;
  }

  /** A new generation: one record per live thing, written whole before the old file goes. */
  private async compact(): Promise<void> {
    const gen = this.file.gen + 1;
    // The snapshot reads the state as it is now, which includes every pending change.
    const d = this.dirty.take();
    const content = snapshot(this.core, gen);
    let next: JournalFile;
    try {
      next = await JournalFile.create(this.opts.dir, gen, content, this.fsync, this.faults);
    } catch (e) {
      // Nothing changed on disk: the old generation still stands, and what was pending still is.
      this.dirty.mergeBack(d);
      this.dirty.recycle(d);
      throw e;
    }
    this.dirty.recycle(d);
    const old = this.file;
    this.file = next;
    // The new generation holds every live job whole, under this version's header.
    this.steps = true;
    this.snapshotBytes = next.size;
    await old.remove();
    syncDir(this.opts.dir);
    this.stats.compactions++;
    this.stats.gen = gen;
    this.stats.bytes = next.size;
  }

  /** Everyone waiting: answered (error undefined: all that was marked is durable), or failed with `error`. */
  private settle(error: unknown): void {
    const waiting = [this.current, this.next];
    this.current = this.next = undefined;
    for (const b of waiting) {
      if (!b) continue;
      if (error !== undefined) b.reject(unavailable("the change could not be written to the journal", error));
      else b.resolve();
    }
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
    this.settle(this.marked === this.durableMark ? undefined : new Error("closed"));
    await this.file.close();
    await this.unlock?.();
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
