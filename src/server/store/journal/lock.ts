/**
 * One server per data directory: two processes appending to one journal would
 * interleave records. A LOCK file holds the owner's pid; a lock whose process
 * is gone (a crash, kill -9) is taken over.
 */
import { readFile, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { OjsError } from "../../../model/errors.js";

/** Directories locked by this process (a pid in a LOCK file cannot tell two servers of one process apart). */
const held = new Set<string>();

export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const key = resolve(dir);
  if (held.has(key)) throw new OjsError(`data directory ${dir} is in use by another server (pid ${process.pid}, this process)`, { code: "unavailable" });
  const release = await lockFile(dir);
  held.add(key);
  return async () => {
    held.delete(key);
    await release();
  };
}

async function lockFile(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, "LOCK");
  for (let tries = 0; tries < 2; tries++) {
    try {
      await writeFile(path, String(process.pid), { flag: "wx" });
      return () => unlink(path).catch(() => {});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        throw new OjsError(`data directory ${dir} is in use by another server (pid ${owner}); remove ${path} if that is wrong`, { code: "unavailable" });
      // Left behind by a process that is gone (or by this one): take it over.
      await unlink(path).catch(() => {});
    }
  }
  throw new OjsError(`data directory ${dir}: could not take ${path}`, { code: "unavailable" });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
