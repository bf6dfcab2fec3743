/**
 * Cron through the API on PostgreSQL. The adapters talk to the in-process
 * CronScheduler (../cron.ts: validation, upserts, listing); with this store it
 * is a mirror of ojs_cron: every change it reports (onChange) is written to
 * the table, and the store's durable() waits for those writes, so a
 * registration is answered once committed. Firing is the database's
 * (cron.ts fireDueCron, once per tick across servers): the in-process timer is
 * switched off. Schedules registered through other servers, and run counts,
 * come into the mirror on every maintenance pass (refresh()).
 */
import type { Sql } from "postgres";
import type { JsonValue } from "../../../model/json.js";
import type { CronRecord, CronScheduler, OverlapPolicy } from "../cron.js";
import { NEVER } from "./cron.js";
import { WriteChain } from "./write-chain.js";

interface CronRow {
  name: string;
  expression: string;
  timezone: string;
  template: CronRecord["template"];
  overlap_policy: OverlapPolicy;
  enabled: boolean;
  description: string | null;
  created_at: Date;
  updated_at: Date;
  next_run_at: Date;
  last_run_at: Date | null;
  last_job_id: string | null;
  run_count: number;
}

/** The template as JSON gave it back: its instants become Dates again. */
function reviveTemplate(t: CronRecord["template"]): CronRecord["template"] {
  const out = { ...t };
  if (out.scheduledAt !== undefined) out.scheduledAt = new Date(out.scheduledAt);
  if (out.expiresAt !== undefined) out.expiresAt = new Date(out.expiresAt);
  return out;
}

export class CronMirror {
  private readonly writes = new WriteChain();

  constructor(
    private readonly sql: Sql,
    private readonly cron: CronScheduler,
  ) {
    // The database fires; the in-process timer must not (it would enqueue into the in-process store).
    Object.assign(cron, { fire: () => undefined });
    cron.onChange = (name) => this.changed(name);
  }

  /** Resolves once every change reported so far is committed; rejects with the first write that failed. */
  durable(): Promise<void> | undefined {
    return this.writes.durable();
  }

  private changed(name: string): void {
    const rec = this.cron.peek(name);
    this.writes.push(() => (rec ? this.save(rec) : this.remove(name)));
  }

  private async save(r: CronRecord): Promise<void> {
    const next = r.enabled ? (r.nextRunAt ?? NEVER) : NEVER;
    await this.sql`
      INSERT INTO ojs_cron (name, expression, timezone, template, next_run_at, enabled, overlap_policy, description, created_at, updated_at)
      VALUES (${r.name}, ${r.expression}, ${r.timezone}, ${this.sql.json(JSON.parse(JSON.stringify(r.template)) as JsonValue)}, ${next}, ${r.enabled},
        ${r.overlapPolicy}, ${r.description ?? null}, ${r.createdAt}, ${r.updatedAt})
      ON CONFLICT (name) DO UPDATE SET expression = EXCLUDED.expression, timezone = EXCLUDED.timezone, template = EXCLUDED.template,
        next_run_at = EXCLUDED.next_run_at, enabled = EXCLUDED.enabled, overlap_policy = EXCLUDED.overlap_policy,
        description = EXCLUDED.description, updated_at = EXCLUDED.updated_at`;
  }

  private async remove(name: string): Promise<void> {
    await this.sql`DELETE FROM ojs_cron WHERE name = ${name}`;
  }

  /** Brings the mirror up to the table (other servers' schedules, run counts, next runs). Skipped while local writes are pending. */
  async refresh(): Promise<void> {
    if (this.writes.busy) return;
    const gen = this.writes.generation;
    const rows = await this.sql<CronRow[]>`SELECT * FROM ojs_cron ORDER BY name LIMIT 10000`;
    if (gen !== this.writes.generation || this.writes.busy) return;
    const onChange = this.cron.onChange;
    this.cron.onChange = undefined;
    try {
      const seen = new Set<string>();
      for (const r of rows) {
        seen.add(r.name);
        this.cron.restore({
          name: r.name,
          expression: r.expression,
          timezone: r.timezone,
          template: reviveTemplate(r.template),
          overlapPolicy: r.overlap_policy,
          enabled: r.enabled,
          description: r.description ?? undefined,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
          nextRunAt: r.enabled && r.next_run_at.getTime() < NEVER.getTime() ? r.next_run_at : undefined,
          lastRunAt: r.last_run_at ?? undefined,
          lastJobId: r.last_job_id ?? undefined,
          runCount: r.run_count,
        });
      }
      for (const e of this.cron.list()) if (!seen.has(e.name)) this.cron.unregister(e.name);
    } finally {
      this.cron.onChange = onChange;
    }
  }
}
