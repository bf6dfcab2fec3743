/**
 * `client.webhooks`: subscriptions to the server's job events, delivered as
 * signed HTTP POSTs (the webhooks extension, ojs-webhooks.md), and the log of
 * those deliveries. Input is checked before anything is sent.
 */
import { ValidationError } from "../model/errors.js";
import type { WebhookDelivery, WebhookDeliveryCounters, WebhookDeliveryStatus, WebhookSubscription, WebhookSubscriptionInput } from "../model/webhooks.js";
import type { WebhookSubscriptionPatch, WebhookTestResult } from "../model/webhooks.js";
import type { CallOptions } from "../transport/transport.js";
import { ExtensionClient } from "./extension.js";

const STATUSES: ReadonlySet<string> = new Set(["pending", "retrying", "delivered", "dead", "dropped", "cancelled"]);

function invalid(operation: string, path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { operation, issues: [{ path, message }] });
}

function checkId(operation: string, id: unknown): string {
  if (typeof id !== "string" || id === "") throw invalid(operation, "id", "must be a non-empty string");
  return id;
}

function checkUrl(operation: string, url: unknown): void {
  let ok = false;
  try {
    ok = typeof url === "string" && ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw invalid(operation, "url", "must be an absolute http(s) URL");
}

function checkEvents(operation: string, events: unknown): void {
  if (!Array.isArray(events) || events.length === 0 || !events.every((e) => typeof e === "string" && e !== ""))
    throw invalid(operation, "events", 'must be a non-empty array of event types ("job.completed", "job.*", "*")');
}

function checkPatch(operation: string, p: WebhookSubscriptionPatch): void {
  if (p === null || typeof p !== "object") throw invalid(operation, "patch", "must be an object");
  if (p.url !== undefined) checkUrl(operation, p.url);
  if (p.events !== undefined) checkEvents(operation, p.events);
  if (p.active !== undefined && typeof p.active !== "boolean") throw invalid(operation, "active", "must be a boolean");
}

/**
 * Webhook subscriptions and deliveries, reached as `client.webhooks`. Over the
 * gRPC transport these calls go to the server's HTTP binding (ojs.v1 has no
 * RPC for them). Receivers check each delivery with `verifyWebhookSignature`.
 *
 * ```ts
 * const sub = await client.webhooks.create({ url: "https://example.com/hooks/ojs", events: ["job.completed", "job.discarded"] });
 * saveSecret(sub.secret!); // shown once
 * const { deliveries } = await client.webhooks.listDeliveries({ subscriptionId: sub.id, status: "dead" });
 * ```
 */
export class WebhooksClient extends ExtensionClient<"webhooks"> {
  protected readonly extension = "webhooks";

  /** Subscribes an endpoint to events; the answer's `secret` is the only time the server shows it. */
  async create(input: WebhookSubscriptionInput, call?: CallOptions): Promise<WebhookSubscription> {
    const op = "webhooks.create";
    if (input === null || typeof input !== "object") throw invalid(op, "input", "must be an object with url and events");
    checkUrl(op, input.url);
    checkEvents(op, input.events);
    checkPatch(op, input);
    if (input.secret !== undefined && (typeof input.secret !== "string" || input.secret.length < 8))
      throw invalid(op, "secret", "must be a string of at least 8 characters");
    return this.run(false, call, (c) => this.t.create(input, c));
  }

  /** Every subscription (of the caller's tenant, with multi-tenancy); never with secrets. */
  async list(call?: CallOptions): Promise<WebhookSubscription[]> {
    return this.run(true, call, (c) => this.t.list(c));
  }

  /** One subscription, without its secret. */
  async get(id: string, call?: CallOptions): Promise<WebhookSubscription> {
    checkId("webhooks.get", id);
    return this.run(true, call, (c) => this.t.get(id, c));
  }

  /** Changes url, events, active, filter or metadata; what is not given stays. */
  async update(id: string, patch: WebhookSubscriptionPatch, call?: CallOptions): Promise<WebhookSubscription> {
    checkId("webhooks.update", id);
    checkPatch("webhooks.update", patch);
    return this.run(true, call, (c) => this.t.update(id, patch, c));
  }

  /** Removes a subscription; its waiting deliveries are cancelled. */
  async delete(id: string, call?: CallOptions): Promise<void> {
    checkId("webhooks.delete", id);
    return this.run(false, call, (c) => this.t.delete(id, c));
  }

  /** Sends one synthetic `webhook.test` event now and says how the endpoint answered. */
  async test(id: string, call?: CallOptions): Promise<WebhookTestResult> {
    checkId("webhooks.test", id);
    return this.run(false, call, (c) => this.t.test(id, c));
  }

  /** A new signing secret (in the answer); the old one keeps signing beside it for 24 hours. */
  async rotateSecret(id: string, call?: CallOptions): Promise<WebhookSubscription> {
    checkId("webhooks.rotateSecret", id);
    return this.run(false, call, (c) => this.t.rotateSecret(id, c));
  }

  /** Recent deliveries, newest first, with each attempt, and the server's delivery counters. */
  async listDeliveries(
    query: { subscriptionId?: string; status?: WebhookDeliveryStatus; limit?: number } = {},
    call?: CallOptions,
  ): Promise<{ deliveries: WebhookDelivery[]; counters: WebhookDeliveryCounters }> {
    const op = "webhooks.listDeliveries";
    if (query.status !== undefined && !STATUSES.has(query.status)) throw invalid(op, "status", `must be one of ${[...STATUSES].join(", ")}`);
    if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 500))
      throw invalid(op, "limit", "must be an integer from 1 to 500");
    return this.run(true, call, (c) => this.t.listDeliveries(query, c));
  }

  /** One delivery with every attempt so far. */
  async getDelivery(id: string, call?: CallOptions): Promise<WebhookDelivery> {
    checkId("webhooks.getDelivery", id);
    return this.run(true, call, (c) => this.t.getDelivery(id, c));
  }

  /** Sends a dead (or dropped) delivery again, with the same delivery id. */
  async retryDelivery(id: string, call?: CallOptions): Promise<WebhookDelivery> {
    checkId("webhooks.retryDelivery", id);
    return this.run(false, call, (c) => this.t.retryDelivery(id, c));
  }
}
