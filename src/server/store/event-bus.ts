import type { EventFilter, OjsEvent } from "../../model/events.js";

export type EventListener = (e: OjsEvent) => void;

export function matchesFilter(e: OjsEvent, f: EventFilter): boolean {
  if (f.queues?.length && (!e.queue || !f.queues.includes(e.queue))) return false;
  if (f.jobId && e.jobId !== f.jobId) return false;
  if (f.workflowId && e.workflowId !== f.workflowId) return false;
  if (f.types?.length && !f.types.some((t) => (t.endsWith("*") ? e.type.startsWith(t.slice(0, -1)) : e.type === t))) return false;
  return true;
}

/**
 * Fan-out of lifecycle events plus a bounded ring of recent ones. Listeners are
 * called synchronously and must not throw; a slow consumer buffers on its own
 * side with its own bound.
 */
export class EventBus {
  private listeners = new Set<EventListener>();
  private ring: OjsEvent[] = [];
  private ringStart = 0;

  constructor(private readonly capacity = 1000) {}

  publish(e: OjsEvent): void {
    if (this.ring.length < this.capacity) this.ring.push(e);
    else {
      this.ring[this.ringStart] = e;
      this.ringStart = (this.ringStart + 1) % this.capacity;
    }
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
  recent(filter: EventFilter = {}, limit = this.capacity): OjsEvent[] {
    const ordered = [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)];
    const out = ordered.filter((e) => matchesFilter(e, filter));
    return out.slice(Math.max(0, out.length - limit));
  }

  clear(): void {
    this.ring = [];
    this.ringStart = 0;
  }
}
