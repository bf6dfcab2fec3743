/**
 * The webhooks extension over the HTTP binding, as a table: one request under
 * /ojs/v1/webhooks per operation, each row its verb, path and JSON conversion
 * (the shape of ../operation-spec.ts), run by the HTTP transport's exchange().
 */
import { countersFromJson, deliveryFromJson, subscriptionFromJson, subscriptionInputToJson, testResultFromJson } from "../../codec/webhooks.js";
import type { HttpBinding } from "../operation-spec.js";
import type { CallOptions } from "../transport.js";
import type { WebhookTransport } from "../webhooks.js";
import { listOf } from "./messages.js";
import { query } from "./query.js";

/** A row: the binding, and how many arguments the method takes before its call options. */
type Row<K extends keyof WebhookTransport> = HttpBinding<Parameters<WebhookTransport[K]>, Awaited<ReturnType<WebhookTransport[K]>>> & { args: number };

const byId = ([id]: readonly [string, ...unknown[]]) => ({ params: { id } });
const withBody = ([id]: readonly [string, ...unknown[]]) => ({ params: { id }, body: {} });
const none = (): void => undefined;

const WEBHOOK_OPERATIONS: { [K in keyof WebhookTransport]: Row<K> } = {
  create: {
    args: 1,
    method: "POST",
    path: "/ojs/v1/webhooks/subscriptions",
    request: ([input]) => ({ body: subscriptionInputToJson(input) }),
    response: subscriptionFromJson,
  },
  list: { args: 0, method: "GET", path: "/ojs/v1/webhooks/subscriptions", response: (b) => listOf(b, "subscriptions", subscriptionFromJson) },
  get: { args: 1, method: "GET", path: "/ojs/v1/webhooks/subscriptions/{id}", request: byId, response: subscriptionFromJson },
  update: {
    args: 2,
    method: "PATCH",
    path: "/ojs/v1/webhooks/subscriptions/{id}",
    request: ([id, patch]) => ({ params: { id }, body: subscriptionInputToJson(patch) }),
    response: subscriptionFromJson,
  },
  delete: { args: 1, method: "DELETE", path: "/ojs/v1/webhooks/subscriptions/{id}", request: byId, response: none },
  test: { args: 1, method: "POST", path: "/ojs/v1/webhooks/subscriptions/{id}/test", request: withBody, response: testResultFromJson },
  rotateSecret: { args: 1, method: "POST", path: "/ojs/v1/webhooks/subscriptions/{id}/rotate-secret", request: withBody, response: subscriptionFromJson },
  listDeliveries: {
    args: 1,
    method: "GET",
    path: "/ojs/v1/webhooks/deliveries",
    request: ([q]) => ({ query: query({ subscription_id: q.subscriptionId || undefined, status: q.status, limit: q.limit }) }),
    response: (b) => ({ deliveries: listOf(b, "deliveries", deliveryFromJson), counters: countersFromJson(b.counters) }),
  },
  getDelivery: { args: 1, method: "GET", path: "/ojs/v1/webhooks/deliveries/{id}", request: byId, response: deliveryFromJson },
  retryDelivery: { args: 1, method: "POST", path: "/ojs/v1/webhooks/deliveries/{id}/retry", request: withBody, response: deliveryFromJson },
};

/** What the table needs of the HTTP transport: one request described by a binding. */
export interface BindingCaller {
  exchange<P extends unknown[], O>(b: HttpBinding<P, O>, args: P, opts: CallOptions | undefined, operation: string): Promise<O>;
}

export function httpWebhooks(http: BindingCaller): WebhookTransport {
  const out: Partial<Record<keyof WebhookTransport, unknown>> = {};
  for (const name of Object.keys(WEBHOOK_OPERATIONS) as (keyof WebhookTransport)[]) {
    const row = WEBHOOK_OPERATIONS[name] as unknown as Row<keyof WebhookTransport> & HttpBinding<unknown[], unknown>;
    out[name] = (...args: unknown[]) => http.exchange(row, args, args[row.args] as CallOptions | undefined, `webhooks.${name}`);
  }
  return out as WebhookTransport;
}
