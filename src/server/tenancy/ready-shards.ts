/**
 * The available jobs of one queue, sharded by tenant (ojs-multi-tenancy.md
 * §6.3, §7.1): one priority queue per tenant, and a fetch that names no tenant
 * takes from the shards in round-robin, so a tenant with 100 000 jobs waiting
 * gets the same turns as one with 10. A fetch that names a tenant takes from
 * that tenant's shard only (isolation). Jobs without a tenant share one shard.
 * Every operation is O(1) apart from the priority levels of one shard: the
 * round-robin order is the insertion order of a Map (the served shard moves to
 * the back), and an emptied shard leaves it at once.
 *
 * Same interface as ReadyQueue, which it wraps; with one shard (no tenants)
 * it behaves exactly as ReadyQueue.
 */
import { ReadyQueue, type ReadyItem } from "../store/ready-queue.js";

/** The shard of jobs that carry no tenant ("" is not a valid tenant id). */
const NO_TENANT = "";

/** The tenant of a queued item: meta.tenant_id of the job it holds. */
export function itemTenant(item: unknown): string {
  const t = (item as { job?: { meta?: Record<string, unknown> } }).job?.meta?.["tenant_id"];
  return typeof t === "string" ? t : NO_TENANT;
}

export class TenantReadyQueue<T extends ReadyItem> {
  /** Non-empty shards in round-robin order: the first is served next. */
  private shards = new Map<string, ReadyQueue<T>>();
  private live = 0;

  constructor(private readonly tenantOf: (item: ReadyItem) => string = itemTenant) {}

  /** Number of items still marked ready, over every tenant. */
  get size(): number {
    return this.live;
  }

  /** Items of one tenant still ready. */
  sizeOf(tenant: string): number {
    return this.shards.get(tenant)?.size ?? 0;
  }

  /** Tenants with ready items. */
  get tenantCount(): number {
    return this.shards.size;
  }

  private shard(tenant: string): ReadyQueue<T> {
    let s = this.shards.get(tenant);
    if (!s) {
      s = new ReadyQueue<T>();
      this.shards.set(tenant, s);
    }
    return s;
  }

  push(priority: number, item: T): void {
    this.shard(this.tenantOf(item)).push(priority, item);
    this.live++;
  }

  unshift(priority: number, item: T): void {
    this.shard(this.tenantOf(item)).unshift(priority, item);
    this.live++;
  }

  /** Call when an item stops being ready without being shifted. */
  forget(item: T): void {
    const tenant = this.tenantOf(item);
    const s = this.shards.get(tenant);
    if (!s) return;
    s.forget();
    this.live--;
    if (s.size === 0) this.shards.delete(tenant);
  }

  /**
   * The next item: of `tenant` only when given (undefined: none of that tenant
   * is ready), else from the shard whose turn it is, which then goes to the back.
   */
  shift(tenant?: string): T | undefined {
    if (tenant !== undefined) return this.take(tenant);
    for (const t of this.shards.keys()) return this.take(t);
    return undefined;
  }

  /** Takes from one shard, which then goes to the back of the round (or away, when empty). */
  private take(tenant: string): T | undefined {
    const s = this.shards.get(tenant);
    if (!s) return undefined;
    const v = s.shift();
    if (v !== undefined) this.live--;
    this.shards.delete(tenant);
    if (s.size > 0) this.shards.set(tenant, s);
    return v;
  }

  *values(): IterableIterator<T> {
    for (const s of this.shards.values()) yield* s.values();
  }
}
