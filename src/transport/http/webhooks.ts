/** The webhooks extension over the HTTP binding: one request under /ojs/v1/webhooks per operation. */
import { countersFromJson, deliveryFromJson, subscriptionFromJson, subscriptionInputToJson, testResultFromJson } from "../../codec/webhooks.js";
import { isJsonObject } from "../../model/json.js";
import type { WebhookDeliveryStatus, WebhookSubscriptionInput, WebhookSubscriptionPatch } from "../../model/webhooks.js";
import type { CallOptions } from "../transport.js";
import type { WebhookTransport } from "../webhooks.js";
import type { JsonCaller } from "./admin.js";

const BASE = "/ojs/v1/webhooks";
const enc = encodeURIComponent;

export class HttpWebhooks implements WebhookTransport {
  constructor(private readonly http: JsonCaller) {}

  async create(input: WebhookSubscriptionInput, call?: CallOptions) {
    return subscriptionFromJson(await this.http.call("POST", `${BASE}/subscriptions`, subscriptionInputToJson(input), call, "webhooks.create"));
  }
  async list(call?: CallOptions) {
    const b = await this.http.call("GET", `${BASE}/subscriptions`, undefined, call, "webhooks.list");
    return Array.isArray(b.subscriptions) ? b.subscriptions.filter(isJsonObject).map(subscriptionFromJson) : [];
  }
  async get(id: string, call?: CallOptions) {
    return subscriptionFromJson(await this.http.call("GET", `${BASE}/subscriptions/${enc(id)}`, undefined, call, "webhooks.get"));
  }
  async update(id: string, patch: WebhookSubscriptionPatch, call?: CallOptions) {
    return subscriptionFromJson(await this.http.call("PATCH", `${BASE}/subscriptions/${enc(id)}`, subscriptionInputToJson(patch), call, "webhooks.update"));
  }
  async delete(id: string, call?: CallOptions): Promise<void> {
    await this.http.call("DELETE", `${BASE}/subscriptions/${enc(id)}`, undefined, call, "webhooks.delete");
  }
  async test(id: string, call?: CallOptions) {
    return testResultFromJson(await this.http.call("POST", `${BASE}/subscriptions/${enc(id)}/test`, {}, call, "webhooks.test"));
  }
  async rotateSecret(id: string, call?: CallOptions) {
    return subscriptionFromJson(await this.http.call("POST", `${BASE}/subscriptions/${enc(id)}/rotate-secret`, {}, call, "webhooks.rotateSecret"));
  }
  async listDeliveries(query: { subscriptionId?: string; status?: WebhookDeliveryStatus; limit?: number }, call?: CallOptions) {
    const q = new URLSearchParams();
    if (query.subscriptionId) q.set("subscription_id", query.subscriptionId);
    if (query.status) q.set("status", query.status);
    if (query.limit !== undefined) q.set("limit", String(query.limit));
    const s = q.toString();
    const b = await this.http.call("GET", `${BASE}/deliveries${s ? `?${s}` : ""}`, undefined, call, "webhooks.listDeliveries");
    return { deliveries: Array.isArray(b.deliveries) ? b.deliveries.filter(isJsonObject).map(deliveryFromJson) : [], counters: countersFromJson(b.counters) };
  }
  async getDelivery(id: string, call?: CallOptions) {
    return deliveryFromJson(await this.http.call("GET", `${BASE}/deliveries/${enc(id)}`, undefined, call, "webhooks.getDelivery"));
  }
  async retryDelivery(id: string, call?: CallOptions) {
    return deliveryFromJson(await this.http.call("POST", `${BASE}/deliveries/${enc(id)}/retry`, {}, call, "webhooks.retryDelivery"));
  }
}
