/** Edit distance (insertions, deletions, substitutions), for suggesting the name a typo meant. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known name nearest to `name`, when it is near enough to be a typo (at most
 * a third of its letters wrong, case ignored), else undefined.
 */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const k of known) {
    const d = levenshtein(lower, k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.ceil(name.length / 3)) ? best : undefined;
}

/** `unknown key "priorty" (did you mean "priority"?)`, or the known keys when none is close. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = closest(key, known);
  return near ? `unknown key "${key}" (did you mean "${near}"?)` : `unknown key "${key}" (known keys: ${known.join(", ")})`;
}
