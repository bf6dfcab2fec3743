/**
 * What changed since the last successful write: names only, never contents
 * (the writer reads the current state), so a thing that changed many times is
 * written once, and a write that failed is retried by handing its names back
 * rather than by keeping its bytes (memory stays bounded during an outage).
 * A changed job's name comes with its live record (the object the store holds,
 * not a copy of its state), so that the writer need not look each one up.
 */
import type { JobRecord } from "../store.js";

/**
 * The kinds of thing marked by name alone: queues, workflows, crons, job ids
 * whose checkpoint was saved or dropped, webhook subscriptions, deliveries and
 * tenants (store/journal/core-records.ts). Jobs are keyed by id, with their
 * record; schemas by type and version.
 */
export const NAMED_KINDS = ["queues", "workflows", "crons", "checkpoints", "webhooks", "deliveries", "tenants"] as const;
export type NamedKind = (typeof NAMED_KINDS)[number];

type Schemas = Map<string, { type: string; version: string | number }>;

/**
 * Changed jobs by id: the live record when the store handed it over (a change),
 * undefined for a job dropped (or marked without its record): the writer then
 * looks the id up, and finds the job gone or made again.
 */
type Jobs = Map<string, JobRecord | undefined>;

export class Dirty implements Record<NamedKind, Set<string>> {
  jobs: Jobs = new Map();
  queues = new Set<string>();
  workflows = new Set<string>();
  crons = new Set<string>();
  checkpoints = new Set<string>();
  webhooks = new Set<string>();
  deliveries = new Set<string>();
  tenants = new Set<string>();
  schemas: Schemas = new Map();
  /**
   * Jobs created since the last write (each also in `jobs`): their first
   * record must be whole; any other job's whole record is in the file
   * already, so its change can go as a step (job-step.ts).
   */
  created = new Set<string>();
  reset = false;

  /** An emptied Dirty handed back by recycle(), for the next take() (no nine new collections per group commit). */
  private spare: Dirty | undefined;

  /**
   * Hands over everything marked so far and starts afresh. The fields are
   * swapped by name (no loop over keys: a keyed store in a loop is megamorphic,
   * and this runs once per group commit).
   */
  take(): Dirty {
    const t = this.spare ?? new Dirty();
    this.spare = undefined;
    const { jobs, queues, workflows, crons, checkpoints, webhooks, deliveries, tenants, schemas, created } = this;
    this.jobs = t.jobs;
    this.queues = t.queues;
    this.workflows = t.workflows;
    this.crons = t.crons;
    this.checkpoints = t.checkpoints;
    this.webhooks = t.webhooks;
    this.deliveries = t.deliveries;
    this.tenants = t.tenants;
    this.schemas = t.schemas;
    this.created = t.created;
    t.jobs = jobs;
    t.queues = queues;
    t.workflows = workflows;
    t.crons = crons;
    t.checkpoints = checkpoints;
    t.webhooks = webhooks;
    t.deliveries = deliveries;
    t.tenants = tenants;
    t.schemas = schemas;
    t.created = created;
    t.reset = this.reset;
    this.reset = false;
    return t;
  }

  /** A Dirty from take() whose names were written (or merged back): emptied, and kept for the next take(). */
  recycle(d: Dirty): void {
    if (d === this) return;
    d.clear();
    d.reset = false;
    this.spare = d;
  }

  /** A write of `d` failed: its names are pending again (records are full state, so order does not matter). */
  mergeBack(d: Dirty): void {
    // A job marked again since holds its newer mark; one that was not is as the failed write saw it.
    for (const [id, rec] of d.jobs) if (!this.jobs.has(id)) this.jobs.set(id, rec);
    for (const k of NAMED_KINDS) for (const name of d[k]) this[k].add(name);
    for (const [k, v] of d.schemas) this.schemas.set(k, v);
    for (const id of d.created) this.created.add(id);
    this.reset ||= d.reset;
  }

  clear(): void {
    // Most are empty after a group commit of jobs alone: those are skipped.
    for (const k of NAMED_KINDS) if (this[k].size) this[k].clear();
    if (this.jobs.size) this.jobs.clear();
    if (this.schemas.size) this.schemas.clear();
    if (this.created.size) this.created.clear();
  }
}
