/**
 * BullMQ 6 needs a Redis client package it does not depend on (ioredis is an
 * optional peer). The project's own ioredis is used when it has one; otherwise
 * the bench installs it, quietly, into bench/.deps (git-ignored), like it
 * installs redis-server. Pinned to the version BullMQ 6.7 is tested with.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

export const IOREDIS_VERSION = "5.11.1";
const prefix = fileURLToPath(new URL("./.deps", import.meta.url));
const privateEntry = `${prefix}/node_modules/ioredis/built/index.js`;

export type RedisCtor = new (
  url: string,
  opts?: { maxRetriesPerRequest?: null; lazyConnect?: boolean },
) => {
  quit(): Promise<unknown>;
  flushall(): Promise<unknown>;
  disconnect(): void;
};

async function tryImport(spec: string): Promise<RedisCtor | undefined> {
  try {
    const m = (await import(spec)) as { default?: RedisCtor | { default: RedisCtor }; Redis?: RedisCtor };
    return m.Redis ?? (typeof m.default === "function" ? m.default : m.default?.default);
  } catch {
    return undefined;
  }
}

/** The ioredis constructor, installing it into bench/.deps when `install` is set. */
export async function loadIoredis(install = false, log: (s: string) => void = () => {}): Promise<RedisCtor | { missing: string }> {
  const own = await tryImport("ioredis");
  if (own) return own;
  if (!existsSync(privateEntry) && install) {
    log(`ioredis not installed in the project: installing ioredis@${IOREDIS_VERSION} into bench/.deps (quietly)...`);
    try {
      execFileSync(
        "npm",
        ["install", "--prefix", prefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--silent", `ioredis@${IOREDIS_VERSION}`],
        {
          stdio: "ignore",
          timeout: 180_000,
        },
      );
    } catch {
      /* reported below */
    }
  }
  const priv = existsSync(privateEntry) ? await tryImport(pathToFileURL(privateEntry).href) : undefined;
  return priv ?? { missing: "ioredis (the Redis client BullMQ 6 needs) is not installed and could not be installed" };
}
