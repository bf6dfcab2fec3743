import type { JsonObject } from "./json.js";

/** A lifecycle event as observers receive it over either transport. */
export interface OjsEvent {
  id: string;
  /** E.g. "job.enqueued", "job.completed", "queue.paused". */
  type: string;
  time: Date;
  jobId?: string;
  jobType?: string;
  queue?: string;
  workflowId?: string;
  data: JsonObject;
}

/** Which lifecycle events to receive. */
export interface EventFilter {
  queues?: string[];
  /** Exact names or prefixes ending in "*", e.g. "job.*". */
  types?: string[];
  jobId?: string;
  workflowId?: string;
}

/** All of the filter's non-empty parts must match; a type ending in "*" matches by prefix. */
export function matchesFilter(e: OjsEvent, f: EventFilter): boolean {
  if (f.queues?.length && (!e.queue || !f.queues.includes(e.queue))) return false;
  if (f.jobId && e.jobId !== f.jobId) return false;
  if (f.workflowId && e.workflowId !== f.workflowId) return false;
  if (f.types?.length && !f.types.some((t) => (t.endsWith("*") ? e.type.startsWith(t.slice(0, -1)) : e.type === t))) return false;
  return true;
}
