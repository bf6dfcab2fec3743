/** Runs the `ojs-connect` binary as users do (bin script, built package) and collects what it said. */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";

export const BIN = join(import.meta.dirname, "..", "..", "bin", "ojs-connect.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without the caller's OJS_* variables, plus `env`: no test depends on the shell it runs in. */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OJS_")));
  return { ...clean, ...env };
}

/** Exit status and output of one run, whatever the status (killed after 20 s). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000, env: cliEnv(env) }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running command (serve, events) with its output collected as it comes. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env) });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // Never outlive the test run.
  const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
  guard.unref();
  void exited.then(() => clearTimeout(guard));
  return { child, out: () => out, err: () => err, exited };
}

/** Lines of stdout parsed as JSON, one document a line. */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
}
