/**
 * The webhooks extension for the gRPC transport: ojs.v1 has no RPC for it, so
 * every operation reaches the HTTP binding (the transport's `httpUrl`), with
 * the same headers (credentials, tenant).
 */
import { forwardTo } from "../forward.js";
import type { WebhookTransport } from "../webhooks.js";

export function grpcWebhooks(http: () => WebhookTransport): WebhookTransport {
  return forwardTo(http, ["create", "list", "get", "update", "delete", "test", "rotateSecret", "listDeliveries", "getDelivery", "retryDelivery"]);
}
