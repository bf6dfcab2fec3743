/**
 * What every command prints and how it ends: human tables on stdout, one JSON
 * document per line with --json, problems on stderr, a progress bar on stderr
 * for long operations, and the exit codes scripts can rely on.
 */
import type { Command } from "commander";
import { ConnectionError, OjsError } from "../model/errors.js";

/** Exit codes of every command (README "Command line"). */
export const EXIT = {
  /** Done; for `wait`, the job completed. */
  ok: 0,
  /** The server refused or the operation failed; for `wait`, the job was cancelled or discarded, or waiting timed out. */
  failed: 1,
  /** The command line is wrong (unknown flag, missing argument, bad JSON, bad URL): nothing was sent. */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
} as const;

/** A mistake in the command line, found before anything was sent. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return EXIT.usage;
  if (e instanceof ConnectionError || (e instanceof OjsError && e.code === "unavailable")) return EXIT.unreachable;
  return EXIT.failed;
}

/** "[not_found] job 0196... not found" for SDK errors, the message otherwise. */
export function errorLine(e: unknown): string {
  if (e instanceof OjsError) return `[${e.code}] ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Where a command writes; tests and the binary use process streams. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** True when stderr is a terminal (progress bars are drawn only there unless forced). */
  readonly errIsTty: boolean;
  errWrite(text: string): void;
}

export const processIo: Io = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  errIsTty: process.stderr.isTTY === true,
  errWrite: (t) => process.stderr.write(t),
};

/** Values in JSON output: Dates as ISO strings, everything else as JSON has it. */
export function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v));
}

/** Aligned columns with a header row; cells are stringified, long cells are not cut (scripts use --json). */
/** How a list command prints: its JSON form, what it says when empty, its table. */
export interface ListOutput<T> {
  json: (item: T) => unknown;
  empty: string;
  headers: string[];
  row: (item: T) => Array<string | number | undefined>;
}

/** A list command's answer: JSON with --json, the `empty` line when there is nothing, else the table. */
export function printList<T>(ctx: Ctx, flags: { json?: boolean }, items: readonly T[], out: ListOutput<T>): void {
  if (flags.json) ctx.io.out(json(items.map(out.json)));
  else if (items.length === 0) ctx.io.out(out.empty);
  else ctx.io.out(table(out.headers, items.map(out.row)));
}

export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** "key  value" lines, keys aligned; undefined values are left out. */
export function keyValues(pairs: Array<[string, string | number | undefined]>): string {
  const kept = pairs.filter(([, v]) => v !== undefined) as Array<[string, string | number]>;
  const w = Math.max(...kept.map(([k]) => k.length));
  return kept.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

export interface Progress {
  /** Adds to the done count and redraws (at most every 100 ms). */
  add(n: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

/** The flags of a progressBar: --progress forces it, --no-progress turns it off; `of` names the run it tracks. */
export function withProgressFlags(cmd: Command, of = ""): Command {
  return cmd.option("--progress", `draw the progress bar${of} even when stderr is not a terminal`).option("--no-progress", "never draw the progress bar");
}

/**
 * A bar on stderr: "[########------------] 400/1000 label". Drawn when stderr is
 * a terminal, or when `force` (the --progress flag); otherwise it does nothing,
 * so logs and pipes stay clean.
 */
export function progressBar(io: Io, total: number, label: string, force?: boolean): Progress {
  const on = force ?? io.errIsTty;
  let done = 0;
  let last = 0;
  const draw = (end: boolean) => {
    const width = 30;
    const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : width;
    io.errWrite(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label}${end ? "\n" : ""}`);
  };
  return {
    add(n) {
      done += n;
      if (!on) return;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw(false);
      }
    },
    finish() {
      if (on) draw(true);
    },
  };
}

/** What a command's action gets besides its arguments. */
export interface Ctx {
  io: Io;
  env: NodeJS.ProcessEnv;
  /** Sets the process exit code (the highest given wins, so a failure is never hidden by a later success). */
  exit(code: number): void;
}

/**
 * Wraps a command's action: errors become one line on stderr prefixed with the
 * command's name (usage errors also print the command's help) and an exit code.
 */
export function run<A extends unknown[]>(ctx: Ctx, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args.at(-1) as { name(): string; helpInformation(): string; parent?: { name(): string } | null };
    try {
      await fn(...args);
    } catch (e) {
      const parent = cmd.parent && cmd.parent.name() !== "ojs-connect" ? `${cmd.parent.name()} ` : "";
      ctx.io.err(`${parent}${cmd.name()}: ${errorLine(e)}`);
      if (e instanceof UsageError) ctx.io.err(`\n${cmd.helpInformation().trimEnd()}`);
      ctx.exit(exitCodeOf(e));
    }
  };
}
