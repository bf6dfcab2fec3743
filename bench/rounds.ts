/**
 * Rounds: the noise-prone scenarios (dispatch latency, one worker, enqueue) and
 * the ceiling run several times, interleaved across the systems, and each
 * figure is reported as the median of its rounds, with every round kept beside
 * it. A single sample of a sequential rate or a p99 swings 2x on this kind of
 * machine from minute to minute (load from other work, VM idle wake-ups), so a
 * target judged on one sample is a coin flip; the median of rounds taken
 * alternately from the systems compared is not.
 *
 * Pure functions only (no processes): run.ts runs the rounds, report.ts and
 * report-durable.ts read them through here; test/unit/bench-rounds.test.ts
 * checks them.
 */

export type Failed = { error: string };

/** A scenario's result over rounds: every figure is the median of the rounds, each round is kept in `rounds` (a failed round as its error). */
export type Rounded<T> = T & { rounds?: Array<T | Failed> };

const isFailed = (v: unknown): v is Failed => typeof v === "object" && v !== null && "error" in v;

/** Median of the finite values (the mean of the two middle ones for an even count); undefined for none. */
export function median(values: ReadonlyArray<number | undefined>): number | undefined {
  const s = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

/** Lowest and highest of the finite values; undefined for none. */
export function range(values: ReadonlyArray<number | undefined>): { min: number; max: number } | undefined {
  const s = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return s.length ? { min: Math.min(...s), max: Math.max(...s) } : undefined;
}

/**
 * Figure by figure, the median of the rounds: numbers become the median of the
 * same field in every round that has it, objects are merged field by field,
 * anything else (strings, arrays) is taken from the first round that has it.
 */
function mergeValues(values: unknown[]): unknown {
  const present = values.filter((v) => v !== undefined && v !== null);
  const first = present[0];
  if (typeof first === "number") return median(present.map((v) => (typeof v === "number" ? v : undefined))) ?? first;
  if (typeof first !== "object" || first === null || Array.isArray(first)) return first;
  const keys = new Set<string>();
  for (const v of present) if (typeof v === "object" && v !== null) for (const k of Object.keys(v)) keys.add(k);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = mergeValues(present.map((v) => (v as Record<string, unknown>)[k]));
  return out;
}

/**
 * One scenario's result from its rounds (in round order, failed rounds as
 * `{ error }`): the median of the rounds that succeeded, with all of them in
 * `rounds`; the first error when none did. A single round is returned as it is
 * (no `rounds` key), as a run without rounds wrote it.
 */
export function mergeRounds<T extends object>(rounds: ReadonlyArray<T | Failed>): Rounded<T> | Failed {
  const good = rounds.filter((r): r is T => !isFailed(r));
  if (!good.length) return rounds.find(isFailed) ?? { error: "no round ran" };
  if (rounds.length === 1) return good[0]!;
  return { ...(mergeValues(good) as T), rounds: [...rounds] };
}

/** How many rounds a result holds (0 for a result without rounds). */
export const roundCount = (v: unknown): number =>
  typeof v === "object" && v !== null && Array.isArray((v as { rounds?: unknown }).rounds) ? (v as { rounds: unknown[] }).rounds.length : 0;

/**
 * Round `k` of a set of results (a system's scenarios, or a ceiling): each
 * field that has rounds replaced by its round `k`, the others left out (a
 * figure that was measured once has no spread). undefined when nothing in it has rounds.
 */
export function roundView<T extends object>(results: T, k: number): T | undefined {
  if (roundCount(results) > 0) {
    const r = (results as { rounds: unknown[] }).rounds[k];
    return r === undefined || isFailed(r) ? undefined : (r as T);
  }
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [key, v] of Object.entries(results)) {
    if (roundCount(v) === 0) continue;
    any = true;
    out[key] = (v as { rounds: unknown[] }).rounds[k];
  }
  return any ? (out as T) : undefined;
}

/** The most rounds any field of `results` (or `results` itself) holds. */
export function roundsIn(results: object | undefined): number {
  if (!results) return 0;
  return Math.max(roundCount(results), ...Object.values(results).map(roundCount));
}

/** A figure in every round: `get` applied to each round's view, in round order (undefined where that round has none). */
export function perRound<T extends object>(results: T | undefined, get: (v: T) => number | undefined): Array<number | undefined> {
  const n = roundsIn(results);
  const out: Array<number | undefined> = [];
  for (let k = 0; k < n; k++) {
    const view = roundView(results!, k);
    out.push(view ? get(view) : undefined);
  }
  return out;
}

/**
 * `a` over `b`, as a target compares them. When both were measured in the same
 * rounds: the median of the per-round ratios (a round's two figures were taken
 * minutes apart at most, so what loaded the machine then weighs on both), with
 * those ratios; otherwise the ratio of the two medians (`ofMedians`).
 */
export function ratioOf(
  a: number | undefined,
  b: number | undefined,
  aRounds: ReadonlyArray<number | undefined> = [],
  bRounds: ReadonlyArray<number | undefined> = [],
): { ratio: number | undefined; perRound: number[]; ofMedians: boolean } {
  const paired: number[] = [];
  for (let k = 0; k < Math.min(aRounds.length, bRounds.length); k++) {
    const x = aRounds[k];
    const y = bRounds[k];
    if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) && y !== 0) paired.push(x / y);
  }
  if (paired.length) return { ratio: median(paired), perRound: paired, ofMedians: false };
  return { ratio: a !== undefined && b ? a / b : undefined, perRound: [], ofMedians: true };
}

/**
 * The order of round `k`: rotated by `k`, and reversed every second round, so
 * that no system always runs first, last, or just after the same other one.
 */
export function roundOrder<T>(items: readonly T[], k: number): T[] {
  const n = items.length;
  if (!n) return [];
  const rotated = items.map((_, i) => items[(i + k) % n]!);
  return k % 2 ? rotated.reverse() : rotated;
}

/** The scenarios that run in every round; the others (rss, reclaim) once, in the first round. */
export const ROUNDED: ReadonlyArray<string> = ["latency", "throughput", "enqueue"];

/**
 * Systems whose scenarios all run in the first round only: pg-boss, whose
 * dispatch latency and one-worker rate are its 0.5 s polling interval (not
 * noise), which is in no target, and a round of which costs ~45 s.
 */
export const FIRST_ROUND_ONLY: ReadonlyArray<string> = ["pg-boss"];

/** Rounds when --rounds is not given: three in a full run (a median needs three), one in --quick. */
export const DEFAULT_ROUNDS = { full: 3, quick: 1 } as const;
const MAX_ROUNDS = 20;

/** `--rounds=N` (1 to 20), or the default of the mode; one with --profile, which wants one profile per process, not a verdict. */
export function parseRounds(argv: readonly string[], quick: boolean): number {
  const given = argv.find((a) => a.startsWith("--rounds="))?.slice("--rounds=".length);
  if (given === undefined) return quick || argv.includes("--profile") ? DEFAULT_ROUNDS.quick : DEFAULT_ROUNDS.full;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1 || n > MAX_ROUNDS) throw new Error(`--rounds=${given}: a whole number from 1 to ${MAX_ROUNDS}`);
  return n;
}
