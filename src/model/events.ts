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

export interface EventFilter {
  queues?: string[];
  /** Exact names or prefixes ending in "*", e.g. "job.*". */
  types?: string[];
  jobId?: string;
  workflowId?: string;
}
