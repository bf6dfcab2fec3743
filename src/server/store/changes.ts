/**
 * The storage seam. The state machine (Store, WorkflowEngine, CronScheduler,
 * SchemaRegistry) stays authoritative in the process; a durable store listens
 * to what changed through a ChangeSink and writes it down, and on start puts
 * the recorded state back through the restore methods. Each call names what
 * changed, never how: the sink reads the current state when it writes, so many
 * changes to one job between two writes cost one record.
 *
 * Webhooks and tenant limits live in the server core, above the state machine,
 * and report to the same sink (Journal.attach wires them).
 *
 * The memory store is the state machine with no sink. The journal store
 * (store/journal) is one sink; a PostgreSQL store would be another (see
 * docs/stores.md for how it would fit).
 */
import type { JobRecord } from "./store.js";

export interface ChangeSink {
  /**
   * The job was changed (`rec`: its live record, the one the store holds under
   * `id`) or dropped (no `rec`: the sink finds out by looking it up). Handing
   * the record over spares the sink a look-up in the store's job map per change
   * (the journal's group commit made one per record: a cache-cold hash look-up
   * in a map of every job held).
   */
  job(id: string, rec?: JobRecord): void;
  /**
   * The job was created (put into the store; its id may be one of a job dropped
   * before). The journal writes a new job's first record whole, and a known
   * job's later changes as steps (store/journal/job-step.ts), which rely on
   * what a job is created with (type, queue, args, meta, tags, priority,
   * maxAttempts, retry policy, createdAt, enqueuedAt, specversion, extra,
   * uniqueKey, workflowStep, directiveOnClaim) never changing afterwards.
   */
  jobCreated(id: string, rec: JobRecord): void;
  /** A queue's operator settings (pause, rate limit, depth bound) changed. */
  queue(name: string): void;
  /** A workflow was created, moved on, or was retired and forgotten. */
  workflow(id: string): void;
  /** A cron schedule was registered, changed, fired or removed. */
  cron(name: string): void;
  /** A schema version was registered or deleted. */
  schema(type: string, version: string | number): void;
  /** A job's checkpoint was saved or dropped (store/checkpoints.ts). */
  checkpoint(jobId: string): void;
  /** A webhook subscription was created, changed (a secret rotation too) or deleted (webhooks/webhooks.ts). */
  webhook(id: string): void;
  /** A webhook delivery was queued, attempted, finished or left the delivery log (webhooks/deliveries.ts). */
  webhookDelivery(id: string): void;
  /** A tenant's limits were set or removed (tenancy/limits.ts). */
  tenantLimits(tenant: string): void;
}

/** What a durable store records of a job: the job itself and the bookkeeping that must survive a restart. */
export type RestoredJob = Pick<
  JobRecord,
  "id" | "job" | "extra" | "retry" | "leaseDeadline" | "workerId" | "uniqueKey" | "deadLetter" | "progress" | "directiveOnClaim" | "workflowStep"
>;
