import { matchesFilter as matchesModelFilter, type EventFilter, type OjsEvent } from "../../model/events.js";

/** A filter of the server's own: the model's, and the tenant of the caller (multi-tenancy) when it has one. */
export type ScopedEventFilter = EventFilter & { tenant?: string };

/** The model's filter, and for a caller with a tenant only events of that tenant's jobs (data.tenant_id). */
export function matchesFilter(e: OjsEvent, f: ScopedEventFilter): boolean {
  if (f.tenant !== undefined && e.data["tenant_id"] !== f.tenant) return false;
  return matchesModelFilter(e, f);
}

export type EventListener = (e: OjsEvent) => void;

/**
 * Fan-out of lifecycle events plus a bounded ring of recent ones. Listeners are
 * called synchronously and must not throw; a slow consumer buffers on its own
 * side with its own bound.
 */
export class EventBus {
  private listeners = new Set<EventListener>();
  /** Recent events; an entry stays a function until someone reads it. */
  private ring: Array<OjsEvent | (() => OjsEvent)> = [];
  private ringStart = 0;

  constructor(private readonly capacity = 1000) {}

  publish(e: OjsEvent): void {
    this.record(e);
    this.notify(e);
  }

  /**
   * Like publish, but the event object (an id, a Date, two objects) is built
   * only if somebody listens now or reads the recent events later: with no
   * observer, a job's lifecycle costs no event allocations. `make` must capture
   * values, not mutable records.
   */
  publishLazy(make: () => OjsEvent): void {
    if (this.listeners.size === 0) {
      this.record(make);
      return;
    }
    const e = make();
    this.record(e);
    this.notify(e);
  }

  private record(e: OjsEvent | (() => OjsEvent)): void {
    if (this.ring.length < this.capacity) this.ring.push(e);
    else {
      this.ring[this.ringStart] = e;
      this.ringStart = (this.ringStart + 1) % this.capacity;
    }
  }

  private notify(e: OjsEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A broken observer must never break the job lifecycle.
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  /** Recent events, oldest first. */
  recent(filter: ScopedEventFilter = {}, limit = this.capacity): OjsEvent[] {
    // Materialise in place, once: an event read twice keeps its id.
    for (let i = 0; i < this.ring.length; i++) {
      const e = this.ring[i]!;
      if (typeof e === "function") this.ring[i] = e();
    }
    const all = this.ring as OjsEvent[];
    const ordered = [...all.slice(this.ringStart), ...all.slice(0, this.ringStart)];
    const out = ordered.filter((e) => matchesFilter(e, filter));
    return out.slice(Math.max(0, out.length - limit));
  }

  clear(): void {
    this.ring = [];
    this.ringStart = 0;
  }
}
