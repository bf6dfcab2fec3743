/**
 * The webhooks extension for the gRPC transport: ojs.v1 has no RPC for it, so
 * every operation reaches the HTTP binding (the transport's `httpUrl`), with
 * the same headers (credentials, tenant).
 */
import type { WebhookDeliveryStatus, WebhookSubscriptionInput, WebhookSubscriptionPatch } from "../../model/webhooks.js";
import type { CallOptions } from "../transport.js";
import type { WebhookTransport } from "../webhooks.js";

export class GrpcWebhooks implements WebhookTransport {
  constructor(
    /** The HTTP binding's webhook operations, made on first use. */
    private readonly http: () => WebhookTransport,
  ) {}

  create(input: WebhookSubscriptionInput, call?: CallOptions) {
    return this.http().create(input, call);
  }
  list(call?: CallOptions) {
    return this.http().list(call);
  }
  get(id: string, call?: CallOptions) {
    return this.http().get(id, call);
  }
  update(id: string, patch: WebhookSubscriptionPatch, call?: CallOptions) {
    return this.http().update(id, patch, call);
  }
  delete(id: string, call?: CallOptions) {
    return this.http().delete(id, call);
  }
  test(id: string, call?: CallOptions) {
    return this.http().test(id, call);
  }
  rotateSecret(id: string, call?: CallOptions) {
    return this.http().rotateSecret(id, call);
  }
  listDeliveries(query: { subscriptionId?: string; status?: WebhookDeliveryStatus; limit?: number }, call?: CallOptions) {
    return this.http().listDeliveries(query, call);
  }
  getDelivery(id: string, call?: CallOptions) {
    return this.http().getDelivery(id, call);
  }
  retryDelivery(id: string, call?: CallOptions) {
    return this.http().retryDelivery(id, call);
  }
}
