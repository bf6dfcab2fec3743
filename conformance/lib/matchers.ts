/**
 * The matcher language of the conformance cases (test-case-reference.md):
 * string matchers ("string:uuidv7", "~2000", "array:length:3"...), literal
 * numbers, booleans and null, positional arrays, and operator objects
 * ($exists, $type, $match, $in, $size, $or, $empty, range). A few operators the
 * extension cases use beyond the reference ($eq, $gte, $gt, $lte, $lt, $ne)
 * are supported too. Every matcher returns undefined on success or a sentence
 * saying what was wrong.
 */
import { isJsonObject, type JsonValue } from "../../src/model/json.js";
import { asText, type Resolved } from "./jsonpath.js";

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export interface MatchOptions {
  /** Tolerance of "~N" in percent of N (the reference runner's default is 50). */
  tolerancePct: number;
}

export const DEFAULT_MATCH_OPTIONS: MatchOptions = { tolerancePct: 50 };

export function show(v: JsonValue | undefined): string {
  return v === undefined ? "(absent)" : JSON.stringify(v);
}

function jsonType(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return "number";
  return typeof v === "object" ? "object" : typeof v;
}

function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]!));
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k]!, b[k]!));
  }
  return a === b;
}

function regex(pattern: string): RegExp | string {
  try {
    return new RegExp(pattern);
  } catch (e) {
    return `invalid regular expression ${pattern}: ${(e as Error).message}`;
  }
}

/** Checks one value against one matcher. */
export function match(matcher: JsonValue, actual: Resolved, opts: MatchOptions = DEFAULT_MATCH_OPTIONS): string | undefined {
  const v = actual.found ? actual.value : undefined;
  if (matcher === null) return v === null ? undefined : `expected null, got ${show(v)}`;
  switch (typeof matcher) {
    case "string":
      return matchString(matcher, actual, opts);
    case "number":
      if (typeof v !== "number") return `expected ${matcher}, got ${show(v)}`;
      return sameJson(v, matcher) ? undefined : `expected ${matcher}, got ${v}`;
    case "boolean":
      return v === matcher ? undefined : `expected ${matcher}, got ${show(v)}`;
  }
  if (Array.isArray(matcher)) {
    if (!Array.isArray(v)) return `expected an array of ${matcher.length}, got ${show(v)}`;
    if (v.length !== matcher.length) return `expected an array of length ${matcher.length}, got length ${v.length}`;
    for (let i = 0; i < matcher.length; i++) {
      const err = match(matcher[i]!, { found: true, value: v[i] }, opts);
      if (err) return `[${i}]: ${err}`;
    }
    return undefined;
  }
  return matchObject(matcher, actual, opts);
}

const PREFIXED: Array<[RegExp, (m: RegExpExecArray, actual: Resolved, opts: MatchOptions) => string | undefined]> = [
  [
    /^string:contains:(.*)$/s,
    (m, a) => {
      const v = a.value;
      return typeof v === "string" && v.includes(m[1]!) ? undefined : `expected a string containing ${JSON.stringify(m[1])}, got ${show(v)}`;
    },
  ],
  [
    /^string:pattern\((.*)\)$/s,
    (m, a) => {
      const re = regex(m[1]!);
      if (typeof re === "string") return re;
      const v = a.value;
      return typeof v === "string" && re.test(v) ? undefined : `expected a string matching ${m[1]}, got ${show(v)}`;
    },
  ],
  [
    /^number:range\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)$/,
    (m, a) => {
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      const v = a.value;
      return typeof v === "number" && v >= lo && v <= hi ? undefined : `expected a number in [${lo}, ${hi}], got ${show(v)}`;
    },
  ],
  [
    /^~(\d+(?:\.\d+)?)$/,
    (m, a, opts) => {
      const expected = Number(m[1]);
      const v = a.value;
      if (typeof v !== "number") return `expected about ${expected}, got ${show(v)}`;
      const tolerance = (expected * opts.tolerancePct) / 100;
      return Math.abs(v - expected) <= tolerance ? undefined : `expected ${expected} ± ${tolerance}, got ${v}`;
    },
  ],
  [/^array:(?:length:|length\()(\d+)\)?$/, (m, a) => lengthCheck(a.value, (n) => n === Number(m[1]), `exactly ${m[1]}`)],
  [/^array:(?:min_length|min):(\d+)$/, (m, a) => lengthCheck(a.value, (n) => n >= Number(m[1]), `at least ${m[1]}`)],
  [
    /^contains:(.*)$/s,
    (m, a) => {
      const v = a.value;
      if (!Array.isArray(v)) return `expected an array containing ${JSON.stringify(m[1])}, got ${show(v)}`;
      return v.some((x) => asText(x) === m[1]) ? undefined : `expected the array to contain ${JSON.stringify(m[1])}, got ${show(v)}`;
    },
  ],
  [
    /^not_contains:(.*)$/s,
    (m, a) => {
      const v = a.value;
      if (!Array.isArray(v)) return `expected an array, got ${show(v)}`;
      return v.some((x) => asText(x) === m[1]) ? `expected the array not to contain ${JSON.stringify(m[1])}` : undefined;
    },
  ],
  [
    /^one_of:(.*)$/s,
    (m, a) => {
      const options = m[1]!.split(",").map((s) => s.trim());
      return options.includes(asText(a.value)) ? undefined : `expected one of ${options.join(", ")}, got ${show(a.value)}`;
    },
  ],
];

function lengthCheck(v: JsonValue | undefined, ok: (n: number) => boolean, what: string): string | undefined {
  if (!Array.isArray(v)) return `expected an array with ${what} elements, got ${show(v)}`;
  return ok(v.length) ? undefined : `expected an array with ${what} elements, got ${v.length}`;
}

function matchString(m: string, a: Resolved, opts: MatchOptions): string | undefined {
  const v = a.found ? a.value : undefined;
  switch (m) {
    case "any":
      return a.found && v !== null ? undefined : `expected a value, got ${show(v)}`;
    case "absent":
      // "Resolves to nothing": missing, or null as JSON decoders read a null.
      return a.found && v !== null ? `expected the field to be absent, got ${show(v)}` : undefined;
    case "exists":
      return a.found ? undefined : "expected the field to exist";
    case "string:nonempty":
    case "string:non_empty":
      return typeof v === "string" && v !== "" ? undefined : `expected a non-empty string, got ${show(v)}`;
    case "string:uuid":
      return typeof v === "string" && UUID_RE.test(v) ? undefined : `expected a UUID, got ${show(v)}`;
    case "string:uuidv7":
      return typeof v === "string" && UUIDV7_RE.test(v) ? undefined : `expected a UUIDv7, got ${show(v)}`;
    case "string:datetime":
      return typeof v === "string" && DATETIME_RE.test(v) ? undefined : `expected an RFC 3339 timestamp, got ${show(v)}`;
    case "number:positive":
      return typeof v === "number" && v > 0 ? undefined : `expected a positive number, got ${show(v)}`;
    case "number:non_negative":
      return typeof v === "number" && v >= 0 ? undefined : `expected a non-negative number, got ${show(v)}`;
    case "array:nonempty":
      return Array.isArray(v) && v.length > 0 ? undefined : `expected a non-empty array, got ${show(v)}`;
    case "array:empty":
      return Array.isArray(v) && v.length === 0 ? undefined : `expected an empty array, got ${show(v)}`;
  }
  for (const [re, check] of PREFIXED) {
    const hit = re.exec(m);
    if (hit) return check(hit, { found: a.found, value: v }, opts);
  }
  return v === m ? undefined : `expected ${JSON.stringify(m)}, got ${show(v)}`;
}

const OPERATORS = new Set(["$exists", "$type", "$match", "$in", "$size", "$or", "$empty", "range", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]);

function compare(op: string, v: JsonValue | undefined, bound: JsonValue): string | undefined {
  if (typeof v !== "number" || typeof bound !== "number") return `expected a number ${op} ${show(bound)}, got ${show(v)}`;
  const ok = op === "$gt" ? v > bound : op === "$gte" ? v >= bound : op === "$lt" ? v < bound : v <= bound;
  return ok ? undefined : `expected ${op.slice(1)} ${bound}, got ${v}`;
}

/**
 * An object matcher is a set of operators, all of which must hold, or (when it
 * has no operator) a shape: every key must exist and match, except those whose
 * matcher is "absent".
 */
function matchObject(m: { [k: string]: JsonValue }, a: Resolved, opts: MatchOptions): string | undefined {
  const v = a.found ? a.value : undefined;
  const keys = Object.keys(m);
  if (!keys.some((k) => OPERATORS.has(k))) {
    if (!isJsonObject(v)) return `expected an object, got ${show(v)}`;
    for (const k of keys) {
      const has = Object.prototype.hasOwnProperty.call(v, k);
      const err = match(m[k]!, { found: has, value: has ? v[k] : undefined }, opts);
      if (err) return `${k}: ${err}`;
    }
    return undefined;
  }
  for (const k of keys) {
    const arg = m[k]!;
    let err: string | undefined;
    switch (k) {
      case "$exists":
        // Present with any value, null included; the reference's "exists" reads the same way.
        if (arg === true && !a.found) err = "expected the field to exist";
        if (arg === false && a.found && v !== null) err = `expected the field not to exist, got ${show(v)}`;
        break;
      case "$type":
        if (!a.found) err = `expected a ${String(arg)}, got nothing`;
        else if (jsonType(v!) !== arg && !(arg === "integer" && typeof v === "number" && Number.isInteger(v)))
          err = `expected a ${String(arg)}, got ${jsonType(v!)}`;
        break;
      case "$match": {
        const re = regex(String(arg));
        if (typeof re === "string") err = re;
        else if (typeof v !== "string" || !re.test(v)) err = `expected a string matching ${String(arg)}, got ${show(v)}`;
        break;
      }
      case "$in":
      case "$or":
        if (!Array.isArray(arg)) err = `${k} needs an array`;
        else if (!arg.some((alt) => match(alt, a, opts) === undefined)) err = `expected one of ${JSON.stringify(arg)}, got ${show(v)}`;
        break;
      case "$size":
        if (!Array.isArray(v)) err = `expected an array, got ${show(v)}`;
        else if (typeof arg === "number") err = v.length === arg ? undefined : `expected ${arg} elements, got ${v.length}`;
        else if (isJsonObject(arg)) err = match(arg, { found: true, value: v.length }, opts);
        else err = `unsupported $size ${show(arg)}`;
        break;
      case "$empty": {
        const empty = !a.found || v === null || v === "" || (Array.isArray(v) && v.length === 0) || (isJsonObject(v) && Object.keys(v).length === 0);
        if ((arg === true) !== empty) err = `expected ${arg === true ? "an empty" : "a non-empty"} value, got ${show(v)}`;
        break;
      }
      case "range": {
        if (typeof v !== "number") err = `expected a number, got ${show(v)}`;
        else if (isJsonObject(arg)) {
          if (typeof arg.min === "number" && v < arg.min) err = `expected >= ${arg.min}, got ${v}`;
          if (typeof arg.max === "number" && v > arg.max) err = `expected <= ${arg.max}, got ${v}`;
        }
        break;
      }
      case "$eq":
        if (v === undefined || !sameJson(v, arg)) err = `expected ${show(arg)}, got ${show(v)}`;
        break;
      case "$ne":
        if (v !== undefined && sameJson(v, arg)) err = `expected anything but ${show(arg)}`;
        break;
      case "$gt":
      case "$gte":
      case "$lt":
      case "$lte":
        err = compare(k, v, arg);
        break;
      default:
        err = `unknown operator ${k} beside ${keys.filter((x) => OPERATORS.has(x)).join(", ")}`;
    }
    if (err) return err;
  }
  return undefined;
}

// --- reading a matcher before using it ---------------------------------------------------

const TYPES = new Set(["string", "number", "integer", "boolean", "null", "array", "object"]);
const EXACT_STRING_MATCHERS = new Set([
  "any",
  "absent",
  "exists",
  "string:nonempty",
  "string:non_empty",
  "string:uuid",
  "string:uuidv7",
  "string:datetime",
  "number:positive",
  "number:non_negative",
  "array:nonempty",
  "array:empty",
]);
/** Prefixes that only ever introduce a matcher: a string starting so and matching no known form is a typo, not a literal. */
const MATCHER_PREFIX = /^(string|number|array):|^~/;

/**
 * Says what in a matcher the language has no meaning for (an unknown
 * operator, an operator given the wrong kind of argument, a string that looks
 * like a matcher but is none), or undefined when every part of it can be
 * checked. A matcher that cannot be read must fail its case, never pass it.
 */
export function matcherProblem(m: JsonValue, at = "matcher"): string | undefined {
  if (m === null || typeof m === "number" || typeof m === "boolean") return undefined;
  if (typeof m === "string") {
    if (EXACT_STRING_MATCHERS.has(m) || PREFIXED.some(([re]) => re.test(m))) {
      const pattern = /^string:pattern\((.*)\)$/s.exec(m);
      if (pattern) {
        const re = regex(pattern[1]!);
        if (typeof re === "string") return `${at}: ${re}`;
      }
      return undefined;
    }
    return MATCHER_PREFIX.test(m) ? `${at}: unknown string matcher ${JSON.stringify(m)}` : undefined;
  }
  if (Array.isArray(m)) {
    for (let i = 0; i < m.length; i++) {
      const p = matcherProblem(m[i]!, `${at}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  const keys = Object.keys(m);
  if (keys.length === 0) return `${at}: an empty object matcher checks nothing`;
  const operators = keys.some((k) => OPERATORS.has(k) || k.startsWith("$"));
  if (!operators) {
    for (const k of keys) {
      const p = matcherProblem(m[k]!, `${at}.${k}`);
      if (p) return p;
    }
    return undefined;
  }
  for (const k of keys) {
    const arg = m[k]!;
    const where = `${at}.${k}`;
    switch (k) {
      case "$exists":
      case "$empty":
        if (typeof arg !== "boolean") return `${where}: needs true or false, got ${show(arg)}`;
        break;
      case "$type":
        if (typeof arg !== "string" || !TYPES.has(arg)) return `${where}: unknown type ${show(arg)} (known: ${[...TYPES].join(", ")})`;
        break;
      case "$match": {
        if (typeof arg !== "string") return `${where}: needs a regular expression string, got ${show(arg)}`;
        const re = regex(arg);
        if (typeof re === "string") return `${where}: ${re}`;
        break;
      }
      case "$in":
      case "$or": {
        if (!Array.isArray(arg) || arg.length === 0) return `${where}: needs a non-empty list of alternatives, got ${show(arg)}`;
        const p = matcherProblem(arg, where);
        if (p) return p;
        break;
      }
      case "$size":
        if (typeof arg === "number") {
          if (!Number.isInteger(arg) || arg < 0) return `${where}: needs a length, got ${arg}`;
        } else if (!isJsonObject(arg) || !Object.keys(arg).every((op) => COMPARISONS.has(op))) {
          return `${where}: needs a length or an object of $gt/$gte/$lt/$lte/$eq/$ne, got ${show(arg)}`;
        } else {
          const p = matcherProblem(arg, where);
          if (p) return p;
        }
        break;
      case "range": {
        const bounds = isJsonObject(arg) ? Object.keys(arg) : [];
        if (!isJsonObject(arg) || bounds.length === 0 || !bounds.every((b) => (b === "min" || b === "max") && typeof arg[b] === "number"))
          return `${where}: needs {min, max} (numbers, either or both), got ${show(arg)}`;
        break;
      }
      case "$gt":
      case "$gte":
      case "$lt":
      case "$lte":
        if (typeof arg !== "number") return `${where}: needs a number, got ${show(arg)}`;
        break;
      case "$eq":
      case "$ne":
        break;
      default:
        return `${where}: unknown operator ${JSON.stringify(k)}${keys.some((x) => OPERATORS.has(x)) ? ` beside ${keys.filter((x) => OPERATORS.has(x)).join(", ")}` : ""}`;
    }
  }
  return undefined;
}

const COMPARISONS = new Set(["$gt", "$gte", "$lt", "$lte", "$eq", "$ne"]);
