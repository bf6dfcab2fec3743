/**
 * What changed since the last successful write: names only, never contents
 * (the writer reads the current state), so a thing that changed many times is
 * written once, and a write that failed is retried by handing its names back
 * rather than by keeping its bytes (memory stays bounded during an outage).
 */
export class Dirty {
  jobs = new Set<string>();
  queues = new Set<string>();
  workflows = new Set<string>();
  crons = new Set<string>();
  schemas = new Map<string, { type: string; version: string | number }>();
  /** Job ids whose checkpoint was saved or dropped. */
  checkpoints = new Set<string>();
  /** Webhook subscription ids, delivery ids and tenant ids (store/journal/core-records.ts). */
  webhooks = new Set<string>();
  deliveries = new Set<string>();
  tenants = new Set<string>();
  reset = false;

  /** Hands over everything marked so far and starts afresh. */
  take(): Dirty {
    const taken = new Dirty();
    [taken.jobs, this.jobs] = [this.jobs, taken.jobs];
    [taken.queues, this.queues] = [this.queues, taken.queues];
    [taken.workflows, this.workflows] = [this.workflows, taken.workflows];
    [taken.crons, this.crons] = [this.crons, taken.crons];
    [taken.schemas, this.schemas] = [this.schemas, taken.schemas];
    [taken.checkpoints, this.checkpoints] = [this.checkpoints, taken.checkpoints];
    [taken.webhooks, this.webhooks] = [this.webhooks, taken.webhooks];
    [taken.deliveries, this.deliveries] = [this.deliveries, taken.deliveries];
    [taken.tenants, this.tenants] = [this.tenants, taken.tenants];
    taken.reset = this.reset;
    this.reset = false;
    return taken;
  }

  /** A write of `d` failed: its names are pending again (records are full state, so order does not matter). */
  mergeBack(d: Dirty): void {
    for (const id of d.jobs) this.jobs.add(id);
    for (const q of d.queues) this.queues.add(q);
    for (const w of d.workflows) this.workflows.add(w);
    for (const c of d.crons) this.crons.add(c);
    for (const [k, v] of d.schemas) this.schemas.set(k, v);
    for (const id of d.checkpoints) this.checkpoints.add(id);
    for (const id of d.webhooks) this.webhooks.add(id);
    for (const id of d.deliveries) this.deliveries.add(id);
    for (const id of d.tenants) this.tenants.add(id);
    this.reset ||= d.reset;
  }

  clear(): void {
    this.jobs.clear();
    this.queues.clear();
    this.workflows.clear();
    this.crons.clear();
    this.schemas.clear();
    this.checkpoints.clear();
    this.webhooks.clear();
    this.deliveries.clear();
    this.tenants.clear();
  }
}
