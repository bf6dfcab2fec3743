/**
 * Webhook subscriptions (ojs-webhooks.md §5.1, §6): which events go to which
 * endpoint, signed with which secret. The registry validates what it is given
 * and is bounded; the secret leaves it only in the answer to a create or a
 * rotation ({@link WebhookRegistry.view} never carries it).
 */
import { randomBytes } from "node:crypto";
import { ConflictError, NotFoundError, ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { uuidv7 } from "../../model/uuid.js";
import type { OjsEvent } from "../../model/events.js";

/** One subscription as the server keeps it. */
export interface WebhookSubscription {
  readonly id: string;
  url: string;
  /** Event types; "*" and "prefix.*" wildcards (§5.2). */
  events: string[];
  active: boolean;
  secret: string;
  /** The previous secret during a rotation, and until when it still signs (§8.3). */
  previousSecret?: { secret: string; until: number };
  metadata?: JsonObject;
  filter?: { queues?: string[]; jobTypes?: string[] };
  /** The tenant that created it (multi-tenancy §9.3): it receives only that tenant's events. */
  tenant?: string;
  readonly createdAt: Date;
}

/** Most subscriptions a server keeps; a create past it is refused (409). */
export const MAX_SUBSCRIPTIONS = 1000;
const MAX_EVENTS = 64;
const MAX_URL = 2048;
/** How long the old secret keeps signing after a rotation (§8.3 recommends 24 hours). */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, { issues: [{ path, message }] });
}

function urlField(v: JsonValue | undefined): string {
  if (typeof v !== "string" || v.length > MAX_URL) throw invalid("url", "must be an http(s) URL");
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalid("url", "must be an absolute http(s) URL");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw invalid("url", "only http and https endpoints are delivered to");
  if (u.username || u.password) throw invalid("url", "must not carry credentials; the deliveries are signed instead");
  return v;
}

function stringList(v: JsonValue | undefined, path: string, max: number): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max || !v.every((x) => typeof x === "string" && x.length > 0 && x.length <= 200))
    throw invalid(path, `must be a non-empty array of at most ${max} non-empty strings`);
  return [...new Set(v as string[])];
}

function filterField(v: JsonValue | undefined): WebhookSubscription["filter"] {
  if (v === undefined || v === null) return undefined;
  if (!isJsonObject(v)) throw invalid("filter", "must be an object with queues and/or job_types");
  const f: NonNullable<WebhookSubscription["filter"]> = {};
  if (v.queues !== undefined) f.queues = stringList(v.queues, "filter.queues", 100);
  if (v.job_types !== undefined) f.jobTypes = stringList(v.job_types, "filter.job_types", 100);
  return f;
}

function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64url")}`;
}

/** Whether a subscription's type patterns and filter take the event (§5.2). */
export function subscriptionMatches(s: WebhookSubscription, e: OjsEvent): boolean {
  if (!s.events.some((p) => p === "*" || (p.endsWith(".*") ? e.type.startsWith(p.slice(0, -1)) : p === e.type))) return false;
  if (s.filter?.queues && (!e.queue || !s.filter.queues.includes(e.queue))) return false;
  if (s.filter?.jobTypes && (!e.jobType || !s.filter.jobTypes.includes(e.jobType))) return false;
  return true;
}

export class WebhookRegistry {
  private subs = new Map<string, WebhookSubscription>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Validates and adds a subscription; `secret` is generated when the body has none. */
  create(body: JsonObject, tenant?: string): WebhookSubscription {
    if (this.subs.size >= MAX_SUBSCRIPTIONS) throw new ConflictError(`at most ${MAX_SUBSCRIPTIONS} webhook subscriptions`);
    const secret = body.secret;
    if (secret !== undefined && (typeof secret !== "string" || secret.length < 8 || secret.length > 512))
      throw invalid("secret", "must be a string of 8 to 512 characters");
    if (body.active !== undefined && typeof body.active !== "boolean") throw invalid("active", "must be a boolean");
    if (body.metadata !== undefined && !isJsonObject(body.metadata)) throw invalid("metadata", "must be an object");
    const filter = filterField(body.filter);
    const s: WebhookSubscription = {
      id: `sub_${uuidv7(this.now())}`,
      url: urlField(body.url),
      events: stringList(body.events, "events", MAX_EVENTS),
      active: body.active ?? true,
      secret: secret ?? newSecret(),
      createdAt: new Date(this.now()),
      ...(filter ? { filter } : {}),
      ...(isJsonObject(body.metadata) ? { metadata: body.metadata } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
    };
    this.subs.set(s.id, s);
    return s;
  }

  /** Puts back a subscription read from the journal (or any other store). */
  restore(s: WebhookSubscription): void {
    this.subs.set(s.id, s);
  }

  has(id: string): boolean {
    return this.subs.has(id);
  }

  /** The subscription as it is now, or undefined (for a durable store). */
  peek(id: string): WebhookSubscription | undefined {
    return this.subs.get(id);
  }

  /** The subscription, if the tenant may see it (none: every subscription). */
  get(id: string, tenant?: string): WebhookSubscription {
    const s = this.subs.get(id);
    if (!s || (tenant !== undefined && s.tenant !== tenant)) throw new NotFoundError(`webhook subscription ${id} not found`, { details: { id } });
    return s;
  }

  list(tenant?: string): WebhookSubscription[] {
    const all = [...this.subs.values()];
    return tenant === undefined ? all : all.filter((s) => s.tenant === tenant);
  }

  /** PATCH (§6.4): url, events, active, filter and metadata; absent fields stay. */
  update(id: string, body: JsonObject, tenant?: string): WebhookSubscription {
    const s = this.get(id, tenant);
    for (const k of Object.keys(body))
      if (!["url", "events", "active", "filter", "metadata"].includes(k))
        throw invalid(k, "cannot be changed (url, events, active, filter, metadata can; rotate the secret with rotate-secret)");
    const url = body.url !== undefined ? urlField(body.url) : s.url;
    const events = body.events !== undefined ? stringList(body.events, "events", MAX_EVENTS) : s.events;
    if (body.active !== undefined && typeof body.active !== "boolean") throw invalid("active", "must be a boolean");
    if (body.metadata !== undefined && body.metadata !== null && !isJsonObject(body.metadata)) throw invalid("metadata", "must be an object");
    const filter = body.filter !== undefined ? filterField(body.filter) : s.filter;
    s.url = url;
    s.events = events;
    if (typeof body.active === "boolean") s.active = body.active;
    if (filter) s.filter = filter;
    else delete s.filter;
    if (isJsonObject(body.metadata)) s.metadata = body.metadata;
    else if (body.metadata === null) delete s.metadata;
    return s;
  }

  delete(id: string, tenant?: string): WebhookSubscription {
    const s = this.get(id, tenant);
    this.subs.delete(id);
    return s;
  }

  /** A new secret; the old one keeps signing for {@link ROTATION_OVERLAP_MS} (§8.3). */
  rotate(id: string, tenant?: string): WebhookSubscription {
    const s = this.get(id, tenant);
    s.previousSecret = { secret: s.secret, until: this.now() + ROTATION_OVERLAP_MS };
    s.secret = newSecret();
    return s;
  }

  /** The secrets a delivery made now is signed with: the current one, then the previous during its overlap. */
  signingSecrets(s: WebhookSubscription): string[] {
    if (s.previousSecret && s.previousSecret.until > this.now()) return [s.secret, s.previousSecret.secret];
    return [s.secret];
  }

  get size(): number {
    return this.subs.size;
  }

  clear(): void {
    this.subs.clear();
  }
}

/**
 * A subscription as the HTTP binding answers it: never with the secret
 * (§6.3), unless `withSecret` (create and rotate answers only).
 */
export function subscriptionJson(s: WebhookSubscription, withSecret = false): JsonObject {
  const o: JsonObject = { id: s.id, url: s.url, events: [...s.events], active: s.active, created_at: s.createdAt.toISOString() };
  if (s.filter) {
    const f: JsonObject = {};
    if (s.filter.queues) f.queues = [...s.filter.queues];
    if (s.filter.jobTypes) f.job_types = [...s.filter.jobTypes];
    o.filter = f;
  }
  if (s.metadata) o.metadata = s.metadata;
  if (s.tenant !== undefined) o.tenant_id = s.tenant;
  if (withSecret) o.secret = s.secret;
  return o;
}
