/**
 * Queues this process has seen registered in ojs_queues. Nothing deletes a
 * row of ojs_queues, so an enqueue to a queue in this set need not write its
 * row again: the single-statement enqueue (enqueue.ts) registers only the
 * queues it has not seen, one write less per enqueue in the common case.
 * Kept per connection pool (one database each); bounded, emptied when full
 * (the next enqueue to each queue registers it again, which is harmless).
 */
const MAX_QUEUES = 10_000;

const known = new WeakMap<object, Set<string>>();

/** The queues of the list this pool has not seen registered yet. */
export function unregistered(pool: object, queues: readonly string[]): string[] {
  const seen = known.get(pool);
  return seen ? queues.filter((q) => !seen.has(q)) : [...queues];
}

/** Records queues whose registration committed. */
export function registered(pool: object, queues: readonly string[]): void {
  let seen = known.get(pool);
  if (!seen) known.set(pool, (seen = new Set()));
  if (seen.size + queues.length > MAX_QUEUES) seen.clear();
  for (const q of queues) seen.add(q);
}
