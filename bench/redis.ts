/**
 * A throwaway Redis for the BullMQ columns: found on PATH (installed quietly with
 * apt-get when missing and running as root), started on a free port, stopped at
 * the end. With no persistence (the "bullmq" system), or with `aof`: an
 * append-only file in a temporary directory, fsynced before every reply
 * (`appendfsync always`, the "bullmq-aof" system), removed at the end.
 * Resolves { skipped } with the reason when there is no Redis to be had.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, connect, type AddressInfo } from "node:net";
import { sleep } from "./common.js";

export interface RedisHandle {
  url: string;
  pid: number | undefined;
  version: string;
  stop(): Promise<void>;
  /** For exit handlers: kill at once, synchronously. */
  killNow(): void;
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function tryInstall(log: (s: string) => void): void {
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !which("apt-get")) return;
  log("redis-server not found: installing it with apt-get (quietly)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args: string[]) => execFileSync("apt-get", args, { stdio: "ignore", env, timeout: 240_000 });
  try {
    run(["install", "-y", "-qq", "--no-install-recommends", "redis-server"]);
  } catch {
    try {
      run(["update", "-qq"]);
      run(["install", "-y", "-qq", "--no-install-recommends", "redis-server"]);
    } catch {
      /* reported by the caller as "not installed" */
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });
}

export async function startRedis(log: (s: string) => void, opts: { aof?: boolean } = {}): Promise<RedisHandle | { skipped: string }> {
  let bin = which("redis-server");
  if (!bin) {
    tryInstall(log);
    bin = which("redis-server");
  }
  if (!bin) return { skipped: "redis-server is not installed and could not be installed" };
  const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  const port = await freePort();
  const dir = opts.aof ? mkdtempSync(join(tmpdir(), "ojs-bench-redis-")) : undefined;
  const persistence = dir ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir] : ["--appendonly", "no"];
  const removeDir = () => dir && rmSync(dir, { recursive: true, force: true });
  // Where setpriv exists, Redis gets SIGKILL if the bench itself is killed outright (no exit handler runs then).
  const guard = which("setpriv") ? ["setpriv", "--pdeathsig", "KILL", bin] : [bin];
  const child: ChildProcess = spawn(
    guard[0]!,
    [
      ...guard.slice(1),
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      ...persistence,
      "--daemonize",
      "no",
      "--protected-mode",
      "no",
      "--loglevel",
      "warning",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  let exited = false;
  child.once("exit", () => (exited = true));
  for (let i = 0; i < 100 && !exited; i++) {
    if (await canConnect(port)) break;
    await sleep(50);
  }
  if (exited || !(await canConnect(port))) {
    child.kill("SIGKILL");
    removeDir();
    return { skipped: `redis-server (${bin}) did not start` };
  }
  const killNow = () => {
    if (!exited) child.kill("SIGKILL");
    removeDir();
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    // setpriv execs Redis in its own process: the pid is Redis's.
    pid: child.pid,
    version,
    killNow,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([gone, sleep(3_000)]);
      killNow();
    },
  };
}
