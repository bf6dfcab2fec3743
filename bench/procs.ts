/**
 * Child processes of the bench: every tsx script is forked through here, so
 * that all of them (and anything registered with onCleanup, e.g. Redis) are
 * stopped on normal exit, on failure and on Ctrl-C.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readdirSync, renameSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FromChild } from "./common.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const live = new Set<ChildProcess>();
const cleanups: Array<() => void> = [];

export interface ForkOptions {
  /** Write a V8 CPU profile of this process to `dir` as `<name>.cpuprofile`. */
  profile?: { dir: string; name: string };
  exposeGc?: boolean;
  /** Each line the child writes to stderr, which is still passed on to this process's stderr. */
  onStderrLine?: (line: string) => void;
}

export interface Child {
  readonly proc: ChildProcess;
  /** The next message of this type; rejects on an "error" message, on exit, or after timeoutMs. */
  next<T = unknown>(type: "ready" | "result", timeoutMs: number): Promise<T>;
  /** Asks the child to stop (it exits by itself, writing its profile) and waits; kills it if it does not. */
  stop(): Promise<void>;
  send(msg: object): void;
}

export function forkScript(script: string, args: string[], opts: ForkOptions = {}): Child {
  const execArgv = ["--import", "tsx"];
  if (opts.exposeGc) execArgv.push("--expose-gc");
  // Every thread writes its own profile (tsx's loader runs in a worker thread): one folder per process, sorted out at exit.
  const profDir = opts.profile ? `${opts.profile.dir}/${opts.profile.name}.d` : undefined;
  if (profDir) execArgv.push("--cpu-prof", `--cpu-prof-dir=${profDir}`);
  const proc = fork(here + script, args, { execArgv, stdio: ["ignore", "inherit", opts.onStderrLine ? "pipe" : "inherit", "ipc"] });
  if (opts.onStderrLine) passStderrOn(proc, opts.onStderrLine);
  live.add(proc);
  let exited = proc.exitCode !== null;
  proc.once("exit", () => {
    exited = true;
    live.delete(proc);
    if (profDir && opts.profile) keepMainThreadProfile(profDir, `${opts.profile.dir}/${opts.profile.name}.cpuprofile`);
  });
  return {
    proc,
    send: (msg) => proc.connected && proc.send(msg),
    next<T>(type: "ready" | "result", timeoutMs: number) {
      return new Promise<T>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          proc.off("message", onMsg);
          proc.off("exit", onExit);
        };
        const onMsg = (m: FromChild) => {
          if (m.type === "error") (done(), reject(new Error(`${script} failed: ${m.message}`)));
          else if (m.type === type) (done(), resolve((m.type === "ready" ? m : m.data) as T));
        };
        const onExit = (code: number | null, sig: string | null) => (done(), reject(new Error(`${script} exited (${sig ?? code}) before "${type}"`)));
        const timer = setTimeout(() => (done(), reject(new Error(`${script}: no "${type}" within ${timeoutMs / 1000} s`))), timeoutMs);
        proc.on("message", onMsg);
        if (exited) onExit(proc.exitCode, proc.signalCode);
        else proc.once("exit", onExit);
      });
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => proc.once("exit", r));
      if (proc.connected) proc.send({ cmd: "stop" });
      else proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** Copies the child's stderr to ours and hands each complete line (without its newline) to `onLine`. */
export function passStderrOn(proc: ChildProcess, onLine: (line: string) => void): void {
  let partial = "";
  proc.stderr?.setEncoding("utf8");
  proc.stderr?.on("data", (chunk: string) => {
    process.stderr.write(chunk);
    const lines = (partial + chunk).split("\n");
    // A line is a log line: a child that never ends one does not grow this without bound.
    partial = (lines.pop() ?? "").slice(-65_536);
    for (const line of lines) onLine(line);
  });
  proc.stderr?.on("end", () => partial && onLine(partial));
}

/** Keeps the main thread's profile (thread id 0 in V8's file name) under a readable name; drops the loader thread's. */
function keepMainThreadProfile(dir: string, to: string): void {
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
    const main = files.find((f) => f.split(".")[4] === "0") ?? files[0];
    if (main) renameSync(`${dir}/${main}`, to);
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* no profile written (the process was killed) */
  }
}

/** Waits for a child that exits by itself (scenario children do after their result). */
export function exited(c: Child, timeoutMs = 10_000): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => (c.proc.kill("SIGKILL"), resolve()), timeoutMs);
    c.proc.once("exit", () => (clearTimeout(t), resolve()));
  });
}

export function onCleanup(fn: () => void): void {
  cleanups.push(fn);
}

/** Synchronous last resort: SIGKILL whatever is still running. */
export function killEverything(): void {
  for (const p of live) p.kill("SIGKILL");
  live.clear();
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      /* already gone */
    }
  }
}

let installed = false;
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killEverything);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      console.error(`\n[bench] ${sig}: stopping every child process`);
      killEverything();
      process.exit(130);
    });
  }
  process.on("uncaughtException", (e) => {
    console.error("[bench] fatal:", e);
    killEverything();
    process.exit(1);
  });
  process.on("unhandledRejection", (e) => {
    console.error("[bench] fatal (unhandled rejection):", e);
    killEverything();
    process.exit(1);
  });
}
