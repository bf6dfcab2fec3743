/**
 * The webhooks extension over the HTTP binding, as a table: one request under
 * /ojs/v1/webhooks per operation, each row its verb, path and JSON conversion
 * (./extension-table.ts).
 */
import { countersFromJson, deliveryFromJson, subscriptionFromJson, subscriptionInputToJson, testResultFromJson } from "../../codec/webhooks.js";
import type { JsonObject } from "../../model/json.js";
import type { WebhookTransport } from "../webhooks.js";
import { byId, byIdPost, listOf, none } from "./messages.js";
import { query } from "./query.js";
import { bindTable, type BindingCaller, type ExtensionTable } from "./extension-table.js";

type Args<K extends keyof WebhookTransport> = Parameters<WebhookTransport[K]>;

// The requests and answers that carry more than an id or one subscription.
const createRequest = ([input]: Args<"create">) => ({ body: subscriptionInputToJson(input) });
const updateRequest = ([id, patch]: Args<"update">) => ({ params: { id }, body: subscriptionInputToJson(patch) });
const deliveriesRequest = ([q]: Args<"listDeliveries">) => ({
  query: query({ subscription_id: q.subscriptionId || undefined, status: q.status, limit: q.limit }),
});
const deliveriesOf = (b: JsonObject) => ({ deliveries: listOf(b, "deliveries", deliveryFromJson), counters: countersFromJson(b.counters) });
const subscriptionsOf = (b: JsonObject) => listOf(b, "subscriptions", subscriptionFromJson);

export const WEBHOOK_OPERATIONS: ExtensionTable<WebhookTransport> = {
  create: { args: 1, method: "POST", path: "/ojs/v1/webhooks/subscriptions", request: createRequest, response: subscriptionFromJson },
  list: { args: 0, method: "GET", path: "/ojs/v1/webhooks/subscriptions", response: subscriptionsOf },
  get: { args: 1, method: "GET", path: "/ojs/v1/webhooks/subscriptions/{id}", request: byId, response: subscriptionFromJson },
  update: { args: 2, method: "PATCH", path: "/ojs/v1/webhooks/subscriptions/{id}", request: updateRequest, response: subscriptionFromJson },
  delete: { args: 1, method: "DELETE", path: "/ojs/v1/webhooks/subscriptions/{id}", request: byId, response: none },
  test: { args: 1, method: "POST", path: "/ojs/v1/webhooks/subscriptions/{id}/test", request: byIdPost, response: testResultFromJson },
  rotateSecret: { args: 1, method: "POST", path: "/ojs/v1/webhooks/subscriptions/{id}/rotate-secret", request: byIdPost, response: subscriptionFromJson },
  listDeliveries: { args: 1, method: "GET", path: "/ojs/v1/webhooks/deliveries", request: deliveriesRequest, response: deliveriesOf },
  getDelivery: { args: 1, method: "GET", path: "/ojs/v1/webhooks/deliveries/{id}", request: byId, response: deliveryFromJson },
  retryDelivery: { args: 1, method: "POST", path: "/ojs/v1/webhooks/deliveries/{id}/retry", request: byIdPost, response: deliveryFromJson },
};

export function httpWebhooks(http: BindingCaller): WebhookTransport {
  return bindTable(WEBHOOK_OPERATIONS, "webhooks", http);
}
