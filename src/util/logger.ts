/**
 * The SDK's own diagnostics: one concise line for each thing a user would want
 * to know without wiring anything (a connection lost and regained, a handler
 * failure, a server error). Pass `logger: false` to silence them, or any object
 * with info/warn/error (console, pino, winston...) to route them.
 */
import { ValidationError } from "../model/errors.js";

/** What the `logger` option takes: three methods, each given one line and optional structured fields. */
export interface Logger {
  /** Good news after bad: a connection regained. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something is wrong but being retried: a connection lost, a settle that did not get through. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Something failed: a handler threw, the server answered 5xx. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The `logger` option: a Logger, or `false` for silence. Default: one line per event on stderr. */
export type LoggerOption = Logger | false;

const write = (line: string) => {
  process.stderr.write(`${line}\n`);
};

/** The default: one line per event on stderr, fields left out (they are in the line already). */
export const stderrLogger: Logger = { info: write, warn: write, error: write };

const silent: Logger = { info() {}, warn() {}, error() {} };

/** Resolves the `logger` option, rejecting anything that is neither false nor a logger. */
export function resolveLogger(opt: unknown, where: string): Logger {
  if (opt === undefined || opt === true) return stderrLogger;
  if (opt === false || opt === null) return silent;
  const o = opt as Partial<Record<keyof Logger, unknown>>;
  if (typeof o === "object" && typeof o.info === "function" && typeof o.warn === "function" && typeof o.error === "function") {
    // Bound, so that loggers which rely on `this` (console, pino) keep working; a logger that throws never reaches the SDK.
    const call = (m: "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
      try {
        (o[m] as (message: string, fields?: Record<string, unknown>) => void).call(o, message, fields);
      } catch {
        // A broken logger must not break the worker or the call that reported.
      }
    };
    return { info: call("info"), warn: call("warn"), error: call("error") };
  }
  throw new ValidationError(`${where}: logger must be false or an object with info, warn and error methods`, {
    issues: [{ path: "logger", message: "must be false or an object with info, warn and error methods" }],
  });
}

/** The message of anything thrown, on one line. */
export function errorText(e: unknown): string {
  const s = e instanceof Error ? ("code" in e && typeof e.code === "string" ? `[${e.code}] ` : "") + e.message : String(e);
  return s.replace(/\s+/g, " ").slice(0, 300);
}
