/**
 * HTTP binding of the webhooks extension (ojs-webhooks.md §10): subscription
 * CRUD, test, secret rotation, and the delivery log. The secret is in the
 * answer to a create and a rotation only. A caller with a tenant
 * (multi-tenancy) sees and changes only its tenant's subscriptions.
 */
import { ValidationError } from "../../model/errors.js";
import type { ServerCore } from "../core.js";
import { requestTenant } from "../tenancy/request.js";
import { deliveryJson, type DeliveryStatus } from "../webhooks/deliveries.js";
import { subscriptionJson } from "../webhooks/subscriptions.js";
import type { HttpRouter } from "./router.js";
import { intParam, objectBody } from "./route-helpers.js";

const STATUSES = new Set(["pending", "retrying", "delivered", "dead", "dropped", "cancelled"]);

export function registerWebhookRoutes(core: ServerCore, router: HttpRouter): void {
  const hooks = core.webhooks;
  const base = "/ojs/v1/webhooks";
  router.on("POST", `${base}/subscriptions`, (req) => {
    const s = hooks.create(objectBody(req), requestTenant(core, req.raw));
    return { status: 201, body: { subscription: subscriptionJson(s, true) }, headers: { location: `${base}/subscriptions/${s.id}` } };
  });
  router.on("GET", `${base}/subscriptions`, (req) => {
    const subs = hooks.registry.list(requestTenant(core, req.raw));
    return { status: 200, body: { subscriptions: subs.map((s) => subscriptionJson(s)), count: subs.length } };
  });
  router.on("GET", `${base}/subscriptions/:id`, (req) => ({
    status: 200,
    body: { subscription: subscriptionJson(hooks.registry.get(req.params.id!, requestTenant(core, req.raw))) },
  }));
  router.on("PATCH", `${base}/subscriptions/:id`, (req) => ({
    status: 200,
    body: { subscription: subscriptionJson(hooks.update(req.params.id!, objectBody(req), requestTenant(core, req.raw))) },
  }));
  router.on("DELETE", `${base}/subscriptions/:id`, (req) => ({
    status: 200,
    body: { subscription: subscriptionJson(hooks.delete(req.params.id!, requestTenant(core, req.raw))) },
  }));
  router.on("POST", `${base}/subscriptions/:id/test`, async (req) => ({
    status: 200,
    body: await hooks.deliverer.test(hooks.registry.get(req.params.id!, requestTenant(core, req.raw))),
  }));
  router.on("POST", `${base}/subscriptions/:id/rotate-secret`, (req) => ({
    status: 200,
    body: { subscription: subscriptionJson(hooks.rotate(req.params.id!, requestTenant(core, req.raw)), true) },
  }));

  router.on("GET", `${base}/deliveries`, async (req) => {
    // What the caller's own answered requests caused is listed (events reach the deliverer late on PostgreSQL).
    await hooks.catchUp();
    const tenant = requestTenant(core, req.raw);
    const subscriptionId = req.query.get("subscription_id") ?? undefined;
    if (subscriptionId) hooks.registry.get(subscriptionId, tenant);
    const status = req.query.get("status") ?? undefined;
    if (status !== undefined && !STATUSES.has(status))
      throw new ValidationError(`status: must be one of ${[...STATUSES].join(", ")}`, { issues: [{ path: "status", message: "unknown delivery status" }] });
    const visible = tenant === undefined ? undefined : new Set(hooks.registry.list(tenant).map((s) => s.id));
    const list = hooks.deliverer
      .list({
        ...(subscriptionId ? { subscriptionId } : {}),
        ...(status ? { status: status as DeliveryStatus } : {}),
        limit: intParam(req.query, "limit", 100, 500),
      })
      .filter((d) => !visible || visible.has(d.subscriptionId));
    const c = hooks.deliverer.counters;
    return {
      status: 200,
      body: {
        deliveries: list.map(deliveryJson),
        count: list.length,
        counters: { delivered: c.delivered, failed_attempts: c.failedAttempts, dead: c.dead, dropped: c.dropped, backlog: hooks.deliverer.backlog },
      },
    };
  });
  const visibleDelivery = (id: string, raw: Parameters<typeof requestTenant>[1]) => {
    const d = hooks.deliverer.get(id);
    const tenant = requestTenant(core, raw);
    if (tenant !== undefined) hooks.registry.get(d.subscriptionId, tenant);
    return d;
  };
  router.on("GET", `${base}/deliveries/:id`, (req) => ({ status: 200, body: { delivery: deliveryJson(visibleDelivery(req.params.id!, req.raw)) } }));
  router.on("POST", `${base}/deliveries/:id/retry`, (req) => {
    visibleDelivery(req.params.id!, req.raw);
    return { status: 202, body: { delivery: deliveryJson(hooks.deliverer.retry(req.params.id!)) } };
  });
}
