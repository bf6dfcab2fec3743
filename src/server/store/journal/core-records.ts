/**
 * Journal records of what lives in the server core, above the state machine:
 * webhook subscriptions (with their secrets), the webhook delivery log with its
 * waiting deliveries, and per-tenant limits. The same pattern as the store's
 * records: each holds the full current state of one thing or says it is gone,
 * and replay keeps the last of each.
 */
import type { TenantLimitConfig, TenantLimits } from "../../tenancy/limits.js";
import type { Delivery } from "../../webhooks/deliveries.js";
import type { WebhookSubscription } from "../../webhooks/subscriptions.js";
import type { Webhooks } from "../../webhooks/webhooks.js";
import type { Dirty } from "./dirty.js";
import { applyRecord, frame, type CoreRecord, type JournalRecord, type RecordActions } from "./records.js";

/** The parts of the server core these records are about (not ServerCore itself: no import cycle back to core.ts). */
export interface CoreParts {
  readonly webhooks: Webhooks;
  readonly tenants: TenantLimits;
}

const date = (v: unknown): Date | undefined => (v === undefined || v === null ? undefined : new Date(v as string));

function reviveSubscription(s: WebhookSubscription): WebhookSubscription {
  return { ...s, createdAt: date(s.createdAt)! };
}

function reviveDelivery(d: Delivery): Delivery {
  const out: Delivery = {
    ...d,
    event: { ...d.event, time: date(d.event.time)! },
    attempts: d.attempts.map((a) => ({ ...a, at: date(a.at)! })),
    createdAt: date(d.createdAt)!,
  };
  if (d.nextAttemptAt !== undefined) out.nextAttemptAt = date(d.nextAttemptAt)!;
  return out;
}

/** What replay gathers of these records before putting them back. */
export interface CoreState {
  hooks: Map<string, WebhookSubscription>;
  deliveries: Map<string, Delivery>;
  tenants: Map<string, TenantLimitConfig>;
}

export function emptyCoreState(): CoreState {
  return { hooks: new Map(), deliveries: new Map(), tenants: new Map() };
}

const ACTIONS: RecordActions<CoreRecord, CoreState> = {
  hook: (st, r) => st.hooks.set(r.r.id, r.r),
  "hook-": (st, r) => st.hooks.delete(r.id),
  // Re-set so that the map's order is the order of the last change; restore sorts by creation anyway.
  dlv: (st, r) => st.deliveries.set(r.r.id, r.r),
  "dlv-": (st, r) => st.deliveries.delete(r.id),
  tenant: (st, r) => st.tenants.set(r.id, r.limits),
  "tenant-": (st, r) => st.tenants.delete(r.id),
};

/** Applies one record if it is one of these; false for any other kind. */
export function applyCoreRecord(st: CoreState, r: JournalRecord): boolean {
  return applyRecord(ACTIONS, st, r);
}

/** Subscriptions first: a waiting delivery goes back into its subscription's lane. */
export function restoreCore(core: CoreParts, st: CoreState): void {
  for (const [id, cfg] of st.tenants) core.tenants.restore(id, cfg);
  for (const s of st.hooks.values()) core.webhooks.restore(reviveSubscription(s));
  const deliveries = [...st.deliveries.values()].map(reviveDelivery).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
  for (const d of deliveries) core.webhooks.deliverer.restore(d);
}

/** The records of the marked subscriptions, deliveries and tenants, as they are now. */
export function collectCore(core: CoreParts, d: Dirty): Buffer[] {
  const out: Buffer[] = [];
  for (const id of d.webhooks) {
    const s = core.webhooks.registry.peek(id);
    out.push(frame(s ? { k: "hook", r: s } : { k: "hook-", id }));
  }
  // After the subscriptions: replay cancels a waiting delivery whose subscription it does not know.
  for (const id of d.deliveries) {
    const x = core.webhooks.deliverer.peek(id);
    out.push(frame(x ? { k: "dlv", r: x } : { k: "dlv-", id }));
  }
  for (const id of d.tenants) {
    const limits = core.tenants.get(id);
    out.push(frame(limits ? { k: "tenant", id, limits } : { k: "tenant-", id }));
  }
  return out;
}

/** One record per subscription, delivery in the log and tenant with limits (for a compaction). */
export function snapshotCore(core: CoreParts): Buffer[] {
  const out: Buffer[] = [];
  for (const [id, limits] of core.tenants.configured()) out.push(frame({ k: "tenant", id, limits }));
  for (const s of core.webhooks.registry.list()) out.push(frame({ k: "hook", r: s }));
  for (const d of core.webhooks.deliverer.records()) out.push(frame({ k: "dlv", r: d }));
  return out;
}
