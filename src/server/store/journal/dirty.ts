/**
 * What changed since the last successful write: names only, never contents
 * (the writer reads the current state), so a thing that changed many times is
 * written once, and a write that failed is retried by handing its names back
 * rather than by keeping its bytes (memory stays bounded during an outage).
 */

/**
 * The kinds of thing marked by name: jobs, queues, workflows, crons, job ids
 * whose checkpoint was saved or dropped, webhook subscriptions, deliveries and
 * tenants (store/journal/core-records.ts). Schemas are keyed by type and version.
 */
export const NAMED_KINDS = ["jobs", "queues", "workflows", "crons", "checkpoints", "webhooks", "deliveries", "tenants"] as const;
export type NamedKind = (typeof NAMED_KINDS)[number];

type Schemas = Map<string, { type: string; version: string | number }>;

export class Dirty implements Record<NamedKind, Set<string>> {
  jobs = new Set<string>();
  queues = new Set<string>();
  workflows = new Set<string>();
  crons = new Set<string>();
  checkpoints = new Set<string>();
  webhooks = new Set<string>();
  deliveries = new Set<string>();
  tenants = new Set<string>();
  schemas: Schemas = new Map();
  reset = false;

  /** Hands over everything marked so far and starts afresh. */
  take(): Dirty {
    const taken = new Dirty();
    for (const k of NAMED_KINDS) [taken[k], this[k]] = [this[k], taken[k]];
    [taken.schemas, this.schemas] = [this.schemas, taken.schemas];
    taken.reset = this.reset;
    this.reset = false;
    return taken;
  }

  /** A write of `d` failed: its names are pending again (records are full state, so order does not matter). */
  mergeBack(d: Dirty): void {
    for (const k of NAMED_KINDS) for (const name of d[k]) this[k].add(name);
    for (const [k, v] of d.schemas) this.schemas.set(k, v);
    this.reset ||= d.reset;
  }

  clear(): void {
    for (const k of NAMED_KINDS) this[k].clear();
    this.schemas.clear();
  }
}
