/**
 * Cron expressions as CRON §3 accepts them: five fields, six fields (seconds
 * first), the macros (@yearly ... @hourly, @midnight) and "@every <duration>",
 * evaluated in an IANA time zone. croner does the field arithmetic; "@every"
 * and the macro names croner lacks are handled here.
 */
import { Cron } from "croner";
import { parseIsoDuration } from "../../model/duration.js";
import { ValidationError } from "../../model/errors.js";

export interface Schedule {
  /** The first run strictly after `after`, or undefined when there is none. */
  next(after: Date): Date | undefined;
}

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MIN_EVERY_MS = 1000;
const GO_DURATION = /^(?:(\d+(?:\.\d+)?)(h|m|s|ms))+$/;

/** "@every" takes Go-style durations ("90s", "1h30m", "500ms") or ISO 8601 ("PT5M"). */
export function parseEveryDuration(text: string): number | undefined {
  const t = text.trim();
  if (t.startsWith("P")) return parseIsoDuration(t);
  if (!GO_DURATION.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    const n = Number(m[1]);
    ms += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n;
  }
  return Math.round(ms);
}

/** IANA names only: CRON §4 refuses fixed offsets such as "+05:00". */
export function validTimezone(tz: string): boolean {
  if (tz === "UTC") return true;
  if (!/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/.test(tz) || /^(UTC|GMT)?[+-]\d/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function invalid(message: string): ValidationError {
  return new ValidationError(message, { issues: [{ path: "expression", message }] });
}

/**
 * Parses an expression for a zone. `anchor` is where "@every" intervals count
 * from (registration time), so that runs stay on a fixed grid even when one is late.
 */
export function parseSchedule(expression: string, timezone = "UTC", anchor = Date.now()): Schedule {
  const expr = expression.trim();
  if (!validTimezone(timezone))
    throw new ValidationError(`timezone: "${timezone}" is not an IANA time zone`, {
      issues: [{ path: "timezone", message: "must be an IANA time zone name such as Europe/Paris" }],
    });
  if (expr.startsWith("@every")) {
    const ms = parseEveryDuration(expr.slice("@every".length));
    if (ms === undefined || ms < MIN_EVERY_MS) throw invalid(`expression: "${expr}" needs a duration of at least 1s, like "@every 5m"`);
    return {
      next(after) {
        const n = Math.floor((after.getTime() - anchor) / ms) + 1;
        return new Date(anchor + Math.max(1, n) * ms);
      },
    };
  }
  const pattern = expr.startsWith("@") ? MACROS[expr.toLowerCase()] : expr;
  if (!pattern) throw invalid(`expression: unknown macro "${expr}"`);
  const fields = pattern.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) throw invalid(`expression: "${expr}" must have five or six fields`);
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone, paused: true, legacyMode: true });
  } catch (e) {
    throw invalid(`expression: "${expr}" is not a valid cron expression (${(e as Error).message})`);
  }
  // A well-formed expression that never fires ("0 0 30 2 *") is as useless as a malformed one.
  if (!cron.nextRun(new Date(anchor))) throw invalid(`expression: "${expr}" never fires`);
  return {
    next(after) {
      return cron.nextRun(after) ?? undefined;
    },
  };
}
