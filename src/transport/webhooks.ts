/**
 * The webhooks extension a transport offers: what `client.webhooks` calls.
 * HTTP serves it; ojs.v1 has no RPC for it, so the gRPC transport reaches the
 * HTTP binding (as it does for most of `client.admin`).
 */
import type { WebhookDelivery, WebhookDeliveryCounters, WebhookDeliveryStatus, WebhookSubscription, WebhookSubscriptionInput } from "../model/webhooks.js";
import type { WebhookSubscriptionPatch, WebhookTestResult } from "../model/webhooks.js";
import type { CallOptions } from "./call-options.js";

/** The wire side of `client.webhooks`, for custom transports (`Transport.webhooks`). Paths are under /ojs/v1/webhooks. */
export interface WebhookTransport {
  /** POST /subscriptions; the answer carries the secret (the only time it does). */
  create(input: WebhookSubscriptionInput, call?: CallOptions): Promise<WebhookSubscription>;
  /** GET /subscriptions. */
  list(call?: CallOptions): Promise<WebhookSubscription[]>;
  /** GET /subscriptions/\{id\}. */
  get(id: string, call?: CallOptions): Promise<WebhookSubscription>;
  /** PATCH /subscriptions/\{id\}. */
  update(id: string, patch: WebhookSubscriptionPatch, call?: CallOptions): Promise<WebhookSubscription>;
  /** DELETE /subscriptions/\{id\}: its waiting deliveries are cancelled. */
  delete(id: string, call?: CallOptions): Promise<void>;
  /** POST /subscriptions/\{id\}/test. */
  test(id: string, call?: CallOptions): Promise<WebhookTestResult>;
  /** POST /subscriptions/\{id\}/rotate-secret; the answer carries the new secret. */
  rotateSecret(id: string, call?: CallOptions): Promise<WebhookSubscription>;
  /** GET /deliveries: recent deliveries, newest first, and the server's counters. */
  listDeliveries(
    query: { subscriptionId?: string; status?: WebhookDeliveryStatus; limit?: number },
    call?: CallOptions,
  ): Promise<{ deliveries: WebhookDelivery[]; counters: WebhookDeliveryCounters }>;
  /** GET /deliveries/\{id\}. */
  getDelivery(id: string, call?: CallOptions): Promise<WebhookDelivery>;
  /** POST /deliveries/\{id\}/retry: a dead or dropped delivery is sent again, same id. */
  retryDelivery(id: string, call?: CallOptions): Promise<WebhookDelivery>;
}
