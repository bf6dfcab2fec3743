/** Webhook subscriptions and deliveries between the model (src/model/webhooks.ts) and the HTTP binding's JSON. */
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json.js";
import type {
  WebhookDelivery,
  WebhookDeliveryAttempt,
  WebhookDeliveryCounters,
  WebhookDeliveryStatus,
  WebhookFilter,
  WebhookSubscription,
  WebhookSubscriptionPatch,
  WebhookTestResult,
} from "../model/webhooks.js";

const str = (v: JsonValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: JsonValue | undefined): number | undefined => (typeof v === "number" ? v : undefined);
const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const date = (v: JsonValue | undefined): Date => new Date(typeof v === "string" ? v : 0);
/** The object under `key` when the server wrapped it (`{delivery: {...}}`), else the body itself. */
function inner(body: JsonObject, key: string): JsonObject {
  const v = body[key];
  return isJsonObject(v) ? v : body;
}

/** Text fields named by `names` (model name -> JSON key), "" where absent. */
function texts<K extends string>(o: JsonObject, names: Record<K, string>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const k of Object.keys(names) as K[]) out[k] = str(o[names[k]]) ?? "";
  return out;
}

function filterToJson(f: WebhookFilter): JsonObject {
  const o: JsonObject = {};
  if (f.queues) o.queues = [...f.queues];
  if (f.jobTypes) o.job_types = [...f.jobTypes];
  return o;
}

/** The request body of a create or an update. */
export function subscriptionInputToJson(s: WebhookSubscriptionPatch & { secret?: string }): JsonObject {
  const o: JsonObject = {};
  if (s.url !== undefined) o.url = s.url;
  if (s.events !== undefined) o.events = [...s.events];
  if (s.secret !== undefined) o.secret = s.secret;
  if (s.active !== undefined) o.active = s.active;
  if (s.filter !== undefined) o.filter = filterToJson(s.filter);
  if (s.metadata !== undefined) o.metadata = s.metadata;
  return o;
}

/** A subscription from `{subscription: {...}}` or a bare object. */
export function subscriptionFromJson(body: JsonObject): WebhookSubscription {
  const o = inner(body, "subscription");
  const s: WebhookSubscription = {
    ...texts(o, { id: "id", url: "url" }),
    events: strings(o.events),
    active: o.active !== false,
    createdAt: date(o.created_at),
  };
  if (isJsonObject(o.filter)) {
    const f: WebhookFilter = {};
    if (Array.isArray(o.filter.queues)) f.queues = strings(o.filter.queues);
    if (Array.isArray(o.filter.job_types)) f.jobTypes = strings(o.filter.job_types);
    s.filter = f;
  }
  if (isJsonObject(o.metadata)) s.metadata = o.metadata;
  if (typeof o.tenant_id === "string") s.tenantId = o.tenant_id;
  if (typeof o.secret === "string") s.secret = o.secret;
  return s;
}

function attemptFromJson(o: JsonValue): WebhookDeliveryAttempt {
  const a = isJsonObject(o) ? o : {};
  const out: WebhookDeliveryAttempt = { at: date(a.at), durationMs: num(a.duration_ms) ?? 0 };
  const sc = num(a.status_code);
  if (sc !== undefined) out.statusCode = sc;
  const e = str(a.error);
  if (e !== undefined) out.error = e;
  return out;
}

/** A delivery from `{delivery: {...}}` or a bare object. */
export function deliveryFromJson(body: JsonObject): WebhookDelivery {
  const o = inner(body, "delivery");
  const d: WebhookDelivery = {
    ...texts(o, { id: "id", subscriptionId: "subscription_id", eventId: "event_id", eventType: "event_type" }),
    status: (str(o.status) ?? "pending") as WebhookDeliveryStatus,
    attempts: Array.isArray(o.attempts) ? o.attempts.map(attemptFromJson) : [],
    createdAt: date(o.created_at),
  };
  if (typeof o.job_id === "string") d.jobId = o.job_id;
  if (typeof o.next_attempt_at === "string") d.nextAttemptAt = new Date(o.next_attempt_at);
  return d;
}

export function countersFromJson(v: JsonValue | undefined): WebhookDeliveryCounters {
  const o = isJsonObject(v) ? v : {};
  return {
    delivered: num(o.delivered) ?? 0,
    failedAttempts: num(o.failed_attempts) ?? 0,
    dead: num(o.dead) ?? 0,
    dropped: num(o.dropped) ?? 0,
    backlog: num(o.backlog) ?? 0,
  };
}

export function testResultFromJson(o: JsonObject): WebhookTestResult {
  const r: WebhookTestResult = { success: o.success === true, responseTimeMs: num(o.response_time_ms) ?? 0 };
  const sc = num(o.status_code);
  if (sc !== undefined) r.statusCode = sc;
  if (typeof o.response_body === "string") r.responseBody = o.response_body;
  if (typeof o.error === "string") r.error = o.error;
  return r;
}
