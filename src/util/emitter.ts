/**
 * A typed event emitter whose listeners cannot hurt the emitter: a listener
 * that throws (or rejects) is reported to `onListenerError` and otherwise
 * ignored, so an observer can never turn a completed job into a failed one.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private listeners = new Map<keyof Events, Set<(payload: never) => unknown>>();

  constructor(private readonly onListenerError: (e: unknown, event: keyof Events) => void = () => {}) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => unknown): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => unknown);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs once; returns a function that removes it. */
  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => unknown): () => void {
    const off = this.on(event, (p) => {
      off();
      return listener(p);
    });
    return off;
  }

  /** Removes a listener. */
  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => unknown): void {
    this.listeners.get(event)?.delete(listener as (payload: never) => unknown);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    // One listener (a worker's job.completed, say, on every job): no copy of the set to call it.
    if (set.size === 1) {
      for (const l of set) {
        this.call(l as (p: Events[K]) => unknown, payload, event);
        break; // a listener it adds waits for the next emit, as with the copy below
      }
      return;
    }
    // A copy: listeners added or removed by a listener take effect from the next emit.
    for (const l of [...set]) this.call(l as (p: Events[K]) => unknown, payload, event);
  }

  private call<K extends keyof Events>(l: (p: Events[K]) => unknown, payload: Events[K], event: K): void {
    try {
      const r = l(payload);
      if (r && typeof (r as Promise<unknown>).then === "function") (r as Promise<unknown>).then(undefined, (e) => this.onListenerError(e, event));
    } catch (e) {
      this.onListenerError(e, event);
    }
  }
}
