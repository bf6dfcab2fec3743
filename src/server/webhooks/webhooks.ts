/**
 * The webhooks extension of the embedded server: the subscription registry and
 * the deliverer, wired to the store's event bus only while a subscription
 * exists (with none, the job lifecycle builds no event objects for them).
 */
import type { OjsEvent } from "../../model/events.js";
import type { JsonObject } from "../../model/json.js";
import type { ChangeSink } from "../store/changes.js";
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
  /**
   * Resolves once the bus has published every event committed before the call.
   * Nothing to wait for where the store publishes an operation's events before
   * answering it (memory, journal); the PostgreSQL store's feed polls the
   * database (store/postgres/events.ts) and sets it.
   */
  catchUp: () => Promise<void> | undefined = () => undefined;
  /** Told of every change to subscriptions and deliveries: the durable store's sink (store/journal), none in memory. */
  private sink: Pick<ChangeSink, "webhook" | "webhookDelivery"> | undefined;

  constructor(
    private readonly bus: EventBus,
    opts: WebhookDeliveryOptions = {},
  ) {
    this.deliverer = new WebhookDeliverer(this.registry, opts, eventTenant);
  }

  get changes(): Pick<ChangeSink, "webhook" | "webhookDelivery"> | undefined {
    return this.sink;
  }

  set changes(sink: Pick<ChangeSink, "webhook" | "webhookDelivery"> | undefined) {
    this.sink = sink;
    this.deliverer.onChange = sink ? (id) => sink.webhookDelivery(id) : undefined;
  }

  create(body: JsonObject, tenant?: string): WebhookSubscription {
    const s = this.registry.create(body, tenant);
    this.changed(s);
    return s;
  }

  update(id: string, body: JsonObject, tenant?: string): WebhookSubscription {
    const s = this.registry.update(id, body, tenant);
    this.changed(s);
    return s;
  }

  rotate(id: string, tenant?: string): WebhookSubscription {
    const s = this.registry.rotate(id, tenant);
    this.changed(s);
    return s;
  }

  delete(id: string, tenant?: string): WebhookSubscription {
    const s = this.registry.delete(id, tenant);
    this.deliverer.cancelSubscription(id);
    this.changed(s);
    return s;
  }

  /** A subscription read back from durable storage at start. */
  restore(s: WebhookSubscription): void {
    this.registry.restore(s);
    this.listen();
  }

  private changed(s: WebhookSubscription): void {
    this.sink?.webhook(s.id);
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
