/**
 * Failures a test injects into fake mode (failNext, failAll), per job type:
 * failNext() entries are consumed first, in order; failAll() applies whenever
 * none is left.
 */

interface Failures {
  /** failNext() entries, consumed first, in order. */
  next: Array<{ error: unknown; remaining: number }>;
  /** failAll(): applies whenever no failNext() entry is left. */
  all?: { error: unknown };
}

/** The injected failures of every job type of one fake. */
export class InjectedFailures {
  private readonly byType = new Map<string, Failures>();

  /** The next `times` attempts of `type` fail with `error`. */
  failNext(type: string, error: unknown, times: number): void {
    this.of(type).next.push({ error, remaining: times });
  }

  /** Every attempt of `type` fails with `error` (after any failNext entries). */
  failAll(type: string, error: unknown): void {
    this.of(type).all = { error };
  }

  /** The failure the next attempt of `type` meets, if any (consuming a failNext entry). */
  take(type: string): { error: unknown } | undefined {
    const f = this.byType.get(type);
    const first = f?.next[0];
    if (first) {
      if (--first.remaining <= 0) f.next.shift();
      return first;
    }
    return f?.all;
  }

  /** Forgets every injected failure. */
  clear(): void {
    this.byType.clear();
  }

  private of(type: string): Failures {
    let f = this.byType.get(type);
    if (!f) this.byType.set(type, (f = { next: [] }));
    return f;
  }
}
