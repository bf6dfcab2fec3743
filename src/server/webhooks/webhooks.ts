/**
 * The webhooks extension of the embedded server: the subscription registry and
 * the deliverer, wired to the store's event bus only while a subscription
 * exists (with none, the job lifecycle builds no event objects for them).
 */
import type { OjsEvent } from "../../model/events.js";
import type { JsonObject } from "../../model/json.js";
import type { EventBus } from "../store/event-bus.js";
import { WebhookDeliverer, type WebhookDeliveryOptions } from "./deliveries.js";
import { WebhookRegistry, type WebhookSubscription } from "./subscriptions.js";

/** The tenant an event is about (the store puts meta.tenant_id of the job in the event's data). */
export function eventTenant(e: OjsEvent): string | undefined {
  const t = e.data["tenant_id"];
  return typeof t === "string" ? t : undefined;
}

export class Webhooks {
  readonly registry = new WebhookRegistry();
  readonly deliverer: WebhookDeliverer;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly bus: EventBus,
    opts: WebhookDeliveryOptions = {},
    /** Told of every change to the subscriptions, for a durable store (src/server/store/journal). */
    private readonly onChange?: (s: WebhookSubscription, deleted: boolean) => void,
  ) {
    this.deliverer = new WebhookDeliverer(this.registry, opts, eventTenant);
  }

  create(body: JsonObject, tenant?: string): WebhookSubscription {
    const s = this.registry.create(body, tenant);
    this.changed(s, false);
    return s;
  }

  update(id: string, body: JsonObject, tenant?: string): WebhookSubscription {
    const s = this.registry.update(id, body, tenant);
    this.changed(s, false);
    return s;
  }

  rotate(id: string, tenant?: string): WebhookSubscription {
    const s = this.registry.rotate(id, tenant);
    this.changed(s, false);
    return s;
  }

  delete(id: string, tenant?: string): WebhookSubscription {
    const s = this.registry.delete(id, tenant);
    this.deliverer.cancelSubscription(id);
    this.changed(s, true);
    return s;
  }

  /** A subscription read back from durable storage at start. */
  restore(s: WebhookSubscription): void {
    this.registry.restore(s);
    this.listen();
  }

  private changed(s: WebhookSubscription, deleted: boolean): void {
    this.onChange?.(s, deleted);
    this.listen();
  }

  /** Listens to the bus exactly while there is a subscription. */
  private listen(): void {
    if (this.registry.size > 0 && !this.unsubscribe) this.unsubscribe = this.bus.subscribe(this.deliverer.onEvent);
    else if (this.registry.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  reset(): void {
    this.registry.clear();
    this.deliverer.reset();
    this.listen();
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.deliverer.close();
  }
}
