/**
 * Webhook delivery (ojs-webhooks.md §7): events from the store's event bus go,
 * signed, to every matching subscription, each subscription through its own
 * lane: a bounded queue (full: the oldest waiting delivery is dropped and
 * counted) worked one delivery at a time, so one slow or dead endpoint delays
 * only its own deliveries and the job lifecycle never waits for any of them
 * (the bus listener only appends to a lane). Failed attempts are retried with
 * exponential backoff; a 4xx other than 429 ends the delivery (dead). Recent
 * deliveries and their attempts are kept, bounded, for GET /webhooks/deliveries.
 */
import { eventToJson } from "../../codec/json.js";
import type { OjsEvent } from "../../model/events.js";
import { NotFoundError, ConflictError } from "../../model/errors.js";
import type { JsonObject } from "../../model/json.js";
import { uuidv7 } from "../../model/uuid.js";
import { postWebhook, type PostOutcome } from "./post.js";
import { signWebhook } from "../../util/webhook-signature.js";
import { subscriptionMatches, type WebhookRegistry, type WebhookSubscription } from "./subscriptions.js";

/** Delays before the 2nd, 3rd... attempt (§7.2): 30 s, 2 min, 10 min, 1 h, 4 h, 12 h, 24 h; 8 attempts in all. */
export const DEFAULT_WEBHOOK_BACKOFF_MS: readonly number[] = [30_000, 120_000, 600_000, 3_600_000, 14_400_000, 43_200_000, 86_400_000];

/** How deliveries are made; every field has a default. */
export interface WebhookDeliveryOptions {
  /** Delays before each retry; its length + 1 is the number of attempts. Default {@link DEFAULT_WEBHOOK_BACKOFF_MS}. */
  backoffMs?: readonly number[];
  /** Timeout of one POST, redirects included; default 30 000 ms (§7.3). */
  timeoutMs?: number;
  /** Deliveries waiting per subscription before the oldest is dropped; default 1 000. */
  queueCapacity?: number;
  /** Finished deliveries kept for inspection; default 500. */
  historySize?: number;
  /** The event source in delivered envelopes; default "ojs-connect". */
  source?: string;
}

/** One try of a delivery. */
export interface DeliveryAttempt {
  at: Date;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

/** pending: waiting or being sent; retrying: an attempt failed, the next is scheduled; delivered; dead: out of attempts or refused (4xx); dropped: pushed out of a full lane; cancelled: its subscription was deleted. */
export type DeliveryStatus = "pending" | "retrying" | "delivered" | "dead" | "dropped" | "cancelled";

export interface Delivery {
  readonly id: string;
  readonly subscriptionId: string;
  readonly event: OjsEvent;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  nextAttemptAt?: Date;
  readonly createdAt: Date;
}

/** Counters since start, for /metrics and the delivery routes. */
export interface DeliveryCounters {
  delivered: number;
  failedAttempts: number;
  dead: number;
  dropped: number;
}

interface Lane {
  readonly queue: Delivery[];
  running: boolean;
  timer: NodeJS.Timeout | undefined;
  wake: (() => void) | undefined;
  abort: AbortController;
}

function statusOk(o: PostOutcome): boolean {
  return o.status !== undefined && o.status >= 200 && o.status < 300;
}

/** 4xx except 429 (and redirects left unfollowed) are the endpoint's final word (§7.1). */
function refused(o: PostOutcome): boolean {
  return o.status !== undefined && o.status >= 300 && o.status < 500 && o.status !== 429;
}

export class WebhookDeliverer {
  readonly counters: DeliveryCounters = { delivered: 0, failedAttempts: 0, dead: 0, dropped: 0 };
  private readonly lanes = new Map<string, Lane>();
  private readonly history = new Map<string, Delivery>();
  /** Waiting deliveries pushed out of the log by its bound: still in their lanes, so a durable store still keeps them. */
  private readonly unlisted = new Map<string, Delivery>();
  private readonly backoff: readonly number[];
  private readonly timeoutMs: number;
  private readonly capacity: number;
  private readonly historySize: number;
  private readonly source: string;
  private closed = false;
  /** Told of every change to a delivery (queued, attempted, finished, forgotten): the durable store's sink, none in memory. */
  onChange: ((id: string) => void) | undefined;

  constructor(
    private readonly registry: WebhookRegistry,
    opts: WebhookDeliveryOptions = {},
    /** The tenant of the job an event is about, for subscriptions scoped to a tenant. */
    private readonly tenantOf: (e: OjsEvent) => string | undefined = () => undefined,
  ) {
    this.backoff = opts.backoffMs ?? DEFAULT_WEBHOOK_BACKOFF_MS;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.capacity = Math.max(1, opts.queueCapacity ?? 1000);
    this.historySize = Math.max(1, opts.historySize ?? 500);
    this.source = opts.source ?? "ojs-connect";
  }

  /** The event-bus listener: synchronous and cheap, it only appends to lanes. */
  readonly onEvent = (e: OjsEvent): void => {
    if (this.closed || this.registry.size === 0) return;
    let tenant: string | undefined | null = null;
    for (const s of this.registry.list()) {
      if (!s.active || !subscriptionMatches(s, e)) continue;
      if (s.tenant !== undefined) {
        if (tenant === null) tenant = this.tenantOf(e);
        if (tenant !== s.tenant) continue;
      }
      this.enqueue(s, e);
    }
  };

  private enqueue(s: WebhookSubscription, e: OjsEvent): Delivery {
    const d: Delivery = { id: `del_${uuidv7()}`, subscriptionId: s.id, event: e, status: "pending", attempts: [], createdAt: new Date() };
    this.push(d);
    return d;
  }

  /** Appends a waiting delivery to its subscription's lane (dropping the oldest waiting one when full) and starts the lane. */
  private push(d: Delivery): void {
    const lane = this.lane(d.subscriptionId);
    if (lane.queue.length >= this.capacity) {
      // The lane is full: the oldest waiting delivery goes (not the one being sent), and is counted.
      const victim = lane.queue.splice(lane.running ? 1 : 0, 1)[0];
      if (victim) {
        victim.status = "dropped";
        delete victim.nextAttemptAt;
        this.counters.dropped++;
        this.changed(victim);
      }
    }
    lane.queue.push(d);
    this.remember(d);
    this.changed(d);
    if (!lane.running) {
      lane.running = true;
      // Off the caller's stack: the job operation that published the event returns first.
      setImmediate(() => void this.run(d.subscriptionId, lane));
    }
  }

  private changed(d: Delivery): void {
    // One pushed out of the log while waiting is forgotten once it ends.
    if (d.status !== "pending" && d.status !== "retrying") this.unlisted.delete(d.id);
    this.onChange?.(d.id);
  }

  /**
   * Puts back a delivery read from durable storage at start, in the order they
   * were created: one that was waiting (or being sent when the server stopped)
   * goes back into its lane and is sent again with the same id (at least once),
   * a retry keeps its scheduled time. One whose subscription is gone is cancelled.
   */
  restore(d: Delivery): void {
    if (d.status !== "pending" && d.status !== "retrying") {
      this.remember(d);
      return;
    }
    if (!this.registry.has(d.subscriptionId)) {
      d.status = "cancelled";
      delete d.nextAttemptAt;
      this.remember(d);
      this.changed(d);
      return;
    }
    this.push(d);
  }

  /** A delivery in the log, or still waiting in a lane, if it is (for a durable store). */
  peek(id: string): Delivery | undefined {
    return this.history.get(id) ?? this.unlisted.get(id);
  }

  /** Every delivery in the log, oldest first, then those waiting beyond its bound (for a durable store's snapshot). */
  *records(): IterableIterator<Delivery> {
    yield* this.history.values();
    yield* this.unlisted.values();
  }

  private lane(id: string): Lane {
    let l = this.lanes.get(id);
    if (!l) {
      l = { queue: [], running: false, timer: undefined, wake: undefined, abort: new AbortController() };
      this.lanes.set(id, l);
    }
    return l;
  }

  private remember(d: Delivery): void {
    this.history.set(d.id, d);
    if (this.history.size > this.historySize) {
      for (const [id, old] of this.history) {
        if (this.history.size <= this.historySize) break;
        // Waiting deliveries stay visible; the oldest finished go first.
        if (old.status !== "pending" && old.status !== "retrying") {
          this.history.delete(id);
          this.onChange?.(id);
        }
      }
      // All waiting (lanes hold at most capacity each): the oldest go regardless, to keep the bound.
      for (const [id, old] of this.history) {
        if (this.history.size <= this.historySize * 2) break;
        this.history.delete(id);
        if (old.status === "pending" || old.status === "retrying") this.unlisted.set(id, old);
        else this.onChange?.(id);
      }
    }
  }

  /** Works a lane until it is empty: one delivery at a time, in order, each to its end. */
  private async run(subId: string, lane: Lane): Promise<void> {
    try {
      while (!this.closed && lane.queue.length > 0) {
        const d = lane.queue[0]!;
        if (d.status !== "pending" && d.status !== "retrying") {
          lane.queue.shift();
          continue;
        }
        // A retry's time (set below, or restored from before a restart) comes first.
        const wait = (d.nextAttemptAt?.getTime() ?? 0) - Date.now();
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            lane.wake = resolve;
            lane.timer = setTimeout(resolve, wait);
            // A delivery waiting for its retry must not keep the process alive.
            lane.timer.unref();
          });
          lane.timer = undefined;
          lane.wake = undefined;
          // Look again: the lane may have been cancelled or the server closed meanwhile.
          continue;
        }
        delete d.nextAttemptAt;
        let sub: WebhookSubscription;
        try {
          sub = this.registry.get(subId);
        } catch {
          break;
        }
        const outcome = await this.attempt(sub, d, lane.abort.signal);
        if (this.closed || lane.abort.signal.aborted) break;
        if (statusOk(outcome)) {
          d.status = "delivered";
          this.counters.delivered++;
          lane.queue.shift();
          this.changed(d);
          continue;
        }
        this.counters.failedAttempts++;
        const n = d.attempts.length;
        if (refused(outcome) || n > this.backoff.length) {
          d.status = "dead";
          this.counters.dead++;
          lane.queue.shift();
          this.changed(d);
          continue;
        }
        const delay = Math.min(Math.max(this.backoff[n - 1]!, outcome.retryAfterMs ?? 0), 86_400_000);
        d.status = "retrying";
        d.nextAttemptAt = new Date(Date.now() + delay);
        this.changed(d);
      }
    } finally {
      lane.running = false;
      if (lane.queue.length === 0 && this.lanes.get(subId) === lane) this.lanes.delete(subId);
    }
  }

  /** Signed headers and body of a delivery, as §5.3 lists them. */
  private request(sub: WebhookSubscription, deliveryId: string, e: OjsEvent): { headers: Record<string, string>; body: string } {
    const body = JSON.stringify(eventToJson(e, this.source));
    const ts = Math.floor(Date.now() / 1000);
    return {
      body,
      headers: {
        "content-type": "application/json",
        "user-agent": "OJS-Webhook/1.0 (ojs-connect)",
        "x-ojs-event-type": e.type,
        "x-ojs-delivery-id": deliveryId,
        "x-ojs-subscription-id": sub.id,
        "x-ojs-timestamp": String(ts),
        "x-ojs-signature": this.registry
          .signingSecrets(sub)
          .map((s) => signWebhook(s, ts, body))
          .join(","),
      },
    };
  }

  private async attempt(sub: WebhookSubscription, d: Delivery, stop: AbortSignal): Promise<PostOutcome> {
    const { headers, body } = this.request(sub, d.id, d.event);
    const at = new Date();
    const outcome = await postWebhook(sub.url, headers, body, this.timeoutMs, stop);
    const a: DeliveryAttempt = { at, durationMs: Math.round(outcome.durationMs) };
    if (outcome.status !== undefined) a.statusCode = outcome.status;
    if (outcome.error !== undefined) a.error = outcome.error;
    d.attempts.push(a);
    return outcome;
  }

  /** POST /webhooks/subscriptions/:id/test (§6.6): one synthetic `webhook.test` event, sent now, outside the lane. */
  async test(sub: WebhookSubscription): Promise<JsonObject> {
    const e: OjsEvent = { id: `evt_${uuidv7()}`, type: "webhook.test", time: new Date(), data: { subscription_id: sub.id } };
    const { headers, body } = this.request(sub, `del_${uuidv7()}`, e);
    const o = await postWebhook(sub.url, headers, body, this.timeoutMs);
    const out: JsonObject = { success: statusOk(o), response_time_ms: Math.round(o.durationMs) };
    if (o.status !== undefined) out.status_code = o.status;
    if (o.body !== undefined) out.response_body = o.body;
    if (o.error !== undefined) out.error = o.error;
    return out;
  }

  /** Recent deliveries, newest first, optionally of one subscription or in one status. */
  list(filter: { subscriptionId?: string; status?: DeliveryStatus; limit?: number } = {}): Delivery[] {
    const out: Delivery[] = [];
    const all = [...this.history.values()];
    for (let i = all.length - 1; i >= 0 && out.length < (filter.limit ?? 100); i--) {
      const d = all[i]!;
      if (filter.subscriptionId && d.subscriptionId !== filter.subscriptionId) continue;
      if (filter.status && d.status !== filter.status) continue;
      out.push(d);
    }
    return out;
  }

  get(id: string): Delivery {
    const d = this.history.get(id);
    if (!d) throw new NotFoundError(`webhook delivery ${id} not found`, { details: { id } });
    return d;
  }

  /** POST /webhooks/deliveries/:id/retry: a dead (or dropped) delivery goes back to the end of its lane, same id. */
  retry(id: string): Delivery {
    const d = this.get(id);
    if (d.status !== "dead" && d.status !== "dropped")
      throw new ConflictError(`webhook delivery ${id} is ${d.status}; only dead or dropped deliveries are retried`, { details: { id, status: d.status } });
    const sub = this.registry.get(d.subscriptionId);
    const fresh = this.enqueue(sub, d.event);
    // Keep the delivery id (§7.5: stable across retries) by moving the record over.
    this.history.delete(fresh.id);
    const lane = this.lanes.get(sub.id)!;
    lane.queue[lane.queue.indexOf(fresh)] = d;
    d.status = "pending";
    this.changed(d);
    return d;
  }

  /** Its subscription was deleted: waiting deliveries are cancelled (§6.5), one in flight is aborted. */
  cancelSubscription(subId: string): void {
    const lane = this.lanes.get(subId);
    if (!lane) return;
    this.lanes.delete(subId);
    for (const d of lane.queue)
      if (d.status === "pending" || d.status === "retrying") {
        d.status = "cancelled";
        delete d.nextAttemptAt;
        this.changed(d);
      }
    lane.queue.length = 0;
    lane.abort.abort();
    if (lane.timer) clearTimeout(lane.timer);
    lane.wake?.();
  }

  /** Deliveries waiting in all lanes. */
  get backlog(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.queue.length;
    return n;
  }

  /** Forgets every delivery and lane (conformance reset). */
  reset(): void {
    for (const id of [...this.lanes.keys()]) this.cancelSubscription(id);
    this.history.clear();
    this.unlisted.clear();
  }

  /** Stops every lane; deliveries keep their status, so with a durable store the waiting ones are sent after a restart. */
  close(): void {
    this.closed = true;
    for (const lane of this.lanes.values()) {
      lane.abort.abort();
      if (lane.timer) clearTimeout(lane.timer);
      lane.wake?.();
    }
    this.lanes.clear();
  }
}

/** A delivery as the HTTP binding answers it. */
export function deliveryJson(d: Delivery): JsonObject {
  const o: JsonObject = {
    id: d.id,
    subscription_id: d.subscriptionId,
    event_id: d.event.id,
    event_type: d.event.type,
    status: d.status,
    created_at: d.createdAt.toISOString(),
    attempts: d.attempts.map((a) => {
      const x: JsonObject = { at: a.at.toISOString(), duration_ms: a.durationMs };
      if (a.statusCode !== undefined) x.status_code = a.statusCode;
      if (a.error !== undefined) x.error = a.error;
      return x;
    }),
  };
  if (d.event.jobId) o.job_id = d.event.jobId;
  if (d.nextAttemptAt) o.next_attempt_at = d.nextAttemptAt.toISOString();
  return o;
}
