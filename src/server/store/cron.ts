/**
 * Recurring jobs (CRON): a registry of named schedules and one timer for the
 * earliest next run, on the store's clock so tests can drive it. The timer does
 * not keep the process alive and stops on close().
 */
import { ConflictError, NotFoundError, OjsError, ValidationError } from "../../model/errors.js";
import { TERMINAL_STATES, type NormalizedJobRequest } from "../../model/job.js";
import { uuidv7 } from "../../model/uuid.js";
import { parseSchedule, type Schedule } from "./cron-expr.js";
import type { Store } from "./store.js";

export type OverlapPolicy = "skip" | "allow" | "cancel_previous" | "enqueue";
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = ["skip", "allow", "cancel_previous", "enqueue"];

export interface CronRegistration {
  name: string;
  expression: string;
  /** IANA zone; UTC when absent. */
  timezone?: string;
  /** The job each run enqueues. */
  template: NormalizedJobRequest;
  overlapPolicy?: OverlapPolicy;
  enabled?: boolean;
  description?: string;
}

export interface CronRecord {
  readonly name: string;
  expression: string;
  timezone: string;
  template: NormalizedJobRequest;
  overlapPolicy: OverlapPolicy;
  enabled: boolean;
  description: string | undefined;
  readonly createdAt: Date;
  updatedAt: Date;
  nextRunAt: Date | undefined;
  lastRunAt: Date | undefined;
  lastJobId: string | undefined;
  runCount: number;
  schedule: Schedule;
}

const NAME_RE = /^[a-z0-9][a-z0-9_\-.]*$/;

export class CronScheduler {
  private entries = new Map<string, CronRecord>();
  private timer: { cancel(): void } | undefined;
  private closed = false;
  /** Told about every change to a schedule (for a durable store). */
  onChange: ((name: string) => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly maxEntries = 10_000,
  ) {}

  /** Creates or replaces the schedule called `name` (an upsert, CRON §8); `created` tells which. */
  register(r: CronRegistration): { entry: CronRecord; created: boolean } {
    if (typeof r.name !== "string" || !NAME_RE.test(r.name) || r.name.length > 255)
      throw new ValidationError("name: must be lowercase letters, digits, '-', '_' or '.', starting with a letter or digit", {
        issues: [{ path: "name", message: "must match [a-z0-9][a-z0-9_\\-.]*" }],
      });
    const timezone = r.timezone || "UTC";
    const now = this.store.clock.now();
    const schedule = parseSchedule(r.expression, timezone, now);
    const existing = this.entries.get(r.name);
    if (!existing && this.entries.size >= this.maxEntries) throw new ConflictError(`at most ${this.maxEntries} cron schedules can be registered`);
    const overlap = r.overlapPolicy ?? "skip";
    // Each run is a new job: a fixed id in the template would collide from the second run on.
    const { id: _id, ...template } = r.template;
    const entry: CronRecord = {
      name: r.name,
      expression: r.expression.trim(),
      timezone,
      template,
      overlapPolicy: overlap,
      enabled: r.enabled ?? true,
      description: r.description,
      createdAt: existing?.createdAt ?? new Date(now),
      updatedAt: new Date(now),
      nextRunAt: undefined,
      lastRunAt: existing?.lastRunAt,
      lastJobId: existing?.lastJobId,
      runCount: existing?.runCount ?? 0,
      schedule,
    };
    if (entry.enabled) entry.nextRunAt = schedule.next(new Date(now));
    this.entries.set(r.name, entry);
    this.onChange?.(r.name);
    this.arm();
    return { entry, created: !existing };
  }

  unregister(name: string): CronRecord {
    const e = this.get(name);
    this.entries.delete(name);
    this.onChange?.(name);
    this.arm();
    return e;
  }

  get(name: string): CronRecord {
    const e = this.entries.get(name);
    if (!e) throw new NotFoundError(`cron schedule ${name} not found`);
    return e;
  }

  list(): CronRecord[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  setEnabled(name: string, enabled: boolean): CronRecord {
    const e = this.get(name);
    e.enabled = enabled;
    e.updatedAt = new Date(this.store.clock.now());
    e.nextRunAt = enabled ? e.schedule.next(new Date(this.store.clock.now())) : undefined;
    this.onChange?.(name);
    this.arm();
    return e;
  }

  /** For a durable store: a schedule as it is now, undefined once removed. */
  peek(name: string): CronRecord | undefined {
    return this.entries.get(name);
  }

  /** Replay: puts a recorded schedule back as it was (its expression is parsed again). */
  restore(saved: Omit<CronRecord, "schedule">): void {
    const schedule = parseSchedule(saved.expression, saved.timezone, this.store.clock.now());
    this.entries.set(saved.name, { ...saved, schedule });
    this.arm();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  reset(): void {
    this.entries.clear();
    this.arm();
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.closed) return;
    let next = Infinity;
    for (const e of this.entries.values()) if (e.enabled && e.nextRunAt) next = Math.min(next, e.nextRunAt.getTime());
    if (next === Infinity) return;
    this.timer = this.store.clock.setTimer(() => {
      this.timer = undefined;
      this.fire();
    }, next - this.store.clock.now());
  }

  /** Runs every schedule that is due; a run missed while late happens once, not once per missed slot. */
  private fire(): void {
    if (this.closed) return;
    const now = this.store.clock.now();
    for (const e of this.entries.values()) {
      if (!e.enabled || !e.nextRunAt || e.nextRunAt.getTime() > now) continue;
      this.trigger(e, now);
      e.nextRunAt = e.schedule.next(new Date(now));
      this.onChange?.(e.name);
    }
    this.arm();
  }

  private trigger(e: CronRecord, now: number): void {
    e.lastRunAt = new Date(now);
    const prev = e.lastJobId && this.store.has(e.lastJobId) ? this.store.get(e.lastJobId) : undefined;
    const running = prev !== undefined && !TERMINAL_STATES.has(prev.job.state);
    if (running && e.overlapPolicy === "skip") {
      this.store.events.publish({ id: `evt_${uuidv7(now)}`, type: "cron.skipped", time: new Date(now), data: { cron_name: e.name, previous_job_id: prev.id } });
      return;
    }
    if (running && e.overlapPolicy === "cancel_previous") this.store.cancel(prev.id);
    try {
      const rec = this.store.enqueue({ ...e.template, meta: { ...(e.template.meta ?? {}), cron_name: e.name } });
      e.lastJobId = rec.id;
      e.runCount++;
      this.store.events.publish({
        id: `evt_${uuidv7(now)}`,
        type: "cron.triggered",
        time: new Date(now),
        jobId: rec.id,
        queue: rec.job.queue,
        data: { cron_name: e.name, job_id: rec.id },
      });
    } catch (err) {
      // A run that cannot be enqueued (queue full, unique conflict) is skipped; the schedule lives on.
      const code = err instanceof OjsError ? err.code : "internal_error";
      this.store.events.publish({
        id: `evt_${uuidv7(now)}`,
        type: "cron.failed",
        time: new Date(now),
        data: { cron_name: e.name, code, message: String((err as Error).message) },
      });
    }
  }
}
