/**
 * With fsync "always" the journal file is open O_DSYNC (Linux: read back from
 * /proc/self/fdinfo), so each write returns once its data is on stable storage
 * without an fdatasync after it; with "none" it is not. Both the file a new
 * data directory starts with and one reopened at start.
 */
import { constants, existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { Journal, type FsyncMode } from "../../src/server/store/journal/journal.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-sync-");

const O_DSYNC = (constants as { O_DSYNC?: number }).O_DSYNC;
const linux = existsSync("/proc/self/fdinfo") && O_DSYNC !== undefined;

/** The open flags of every descriptor of this process on `path`. */
function openFlags(path: string): number[] {
  const out: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
    if (m) out.push(parseInt(m[1]!, 8));
  }
  return out;
}

describe.skipIf(!linux)("journal file sync mode", () => {
  it.each<[FsyncMode, boolean]>([
    ["always", true],
    ["none", false],
  ])("fsync %s: the journal file is open O_DSYNC: %s (new directory and reopened)", async (fsync, dsync) => {
    const dir = tempDir();
    const path = join(dir, "journal-00000001.log");
    for (let round = 0; round < 2; round++) {
      const core = new ServerCore();
      core.journal = await Journal.open(core, { dir, fsync, log: () => {} });
      core.store.enqueue({ type: "s", args: [round], queue: "q" });
      await core.durable();
      const flags = openFlags(path);
      expect(flags).toHaveLength(1);
      expect((flags[0]! & O_DSYNC!) !== 0).toBe(dsync);
      await core.journal.close();
      core.close();
    }
  });
});
