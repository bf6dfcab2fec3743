/**
 * What the PostgreSQL store sets up on the server core it joins: the cron
 * scheduler and schema registry the API uses are mirrored in the database
 * (cron-mirror.ts, schema-mirror.ts). Workflows need nothing here: the store
 * answers them itself (JobStore.workflows, workflows.ts); the server's event
 * bus is fed from the database (events.ts). The name is kept for
 * the caller (job-stores.ts); nothing is refused any more.
 */
import type { ServerCore } from "../../core.js";
import type { PostgresJobStore } from "./postgres-job-store.js";

export function refuseInProcessFeatures(core: ServerCore, store: PostgresJobStore): void {
  store.attachRegistries(core.cron, core.schemas);
  // Events live in the database (events.ts): the server's bus hears every server's.
  const feed = store.attachEvents(core.store.events);
  // They reach the bus on the feed's next poll, not before the operation that caused them is answered:
  // the webhook deliveries a client lists must include those its own requests queued.
  core.webhooks.catchUp = () => feed.catchUp();
}
