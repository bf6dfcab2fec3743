/**
 * `clean QUEUE` (remove finished jobs by state and age, a bounded number at a
 * time) and `retention QUEUE` (show or set how many finished jobs the queue
 * keeps and for how long). Both through client.admin.
 */
import type { Command } from "commander";
import { toMillis } from "../model/duration.js";
import type { QueueRetention, RetentionRule } from "../model/retention.js";
import { integer } from "./args.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { json, keyValues, run, UsageError, type Ctx } from "./output.js";

const FINISHED = ["completed", "discarded", "cancelled"] as const;
type Finished = (typeof FINISHED)[number];

interface CleanFlags extends ConnectionFlags {
  state?: string[];
  olderThan?: string;
  limit?: string;
}

interface RetentionFlags extends ConnectionFlags {
  completedCount?: string;
  completedAge?: string;
  discardedCount?: string;
  discardedAge?: string;
  clear?: boolean;
}

/** "90s", "15m", "2h", "7d", plain milliseconds, or an ISO 8601 duration ("P7D"). */
export function durationArg(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = m ? Number(m[1]) * unit[m[2] as keyof typeof unit] : /^\d+$/.test(text.trim()) ? Number(text) : toMillis(text.trim());
  if (ms === undefined || !Number.isFinite(ms) || ms < 0)
    throw new UsageError(`${flag}: must be a duration such as 90s, 15m, 2h, 7d, P7D or milliseconds, got ${text}`);
  return ms;
}

function ruleText(r: RetentionRule | undefined): string {
  if (!r) return "keep (no rule)";
  const parts: string[] = [];
  if (r.count !== undefined) parts.push(`newest ${r.count}`);
  if (r.age !== undefined) parts.push(`for ${typeof r.age === "number" ? `${r.age} ms` : r.age}`);
  return parts.join(", ");
}

export function cleanCommands(program: Command, ctx: Ctx): void {
  withConnectionFlags(
    program
      .command("clean")
      .summary("remove a queue's finished jobs by state and age, the oldest first")
      .argument("<queue>", "queue name")
      .option("--state <state...>", `finished states to remove: ${FINISHED.join(", ")} (default: all three)`)
      .option("--older-than <duration>", "only jobs that finished longer ago than this (90s, 15m, 2h, 7d, P7D, or ms)")
      .option("--limit <n>", "at most this many jobs (1-100000)", "1000"),
  ).action(
    run(ctx, async (queue: string, flags: CleanFlags) => {
      const states = (flags.state ?? [...FINISHED]) as Finished[];
      for (const s of states) if (!FINISHED.includes(s)) throw new UsageError(`--state: must be one of ${FINISHED.join(", ")}, got ${s}`);
      const limit = integer("--limit", flags.limit ?? "1000", 1, 100_000);
      const olderThan = flags.olderThan !== undefined ? durationArg("--older-than", flags.olderThan) : undefined;
      const r = await withClient(flags, (c) => c.admin.clean(queue, { states, limit, confirm: true, ...(olderThan !== undefined ? { olderThan } : {}) }));
      if (flags.json) ctx.io.out(json({ queue, removed: r.purgedCount, states: r.states, limit }));
      else
        ctx.io.out(
          `removed ${r.purgedCount} finished job${r.purgedCount === 1 ? "" : "s"} from ${queue}${r.purgedCount === limit ? ` (the limit: run again for more)` : ""}`,
        );
    }),
  );

  withConnectionFlags(
    program
      .command("retention")
      .summary("show or set how many finished jobs a queue keeps and for how long")
      .argument("<queue>", "queue name")
      .option("--completed-count <n>", "keep at most this many completed jobs (0: remove each as it completes)")
      .option("--completed-age <duration>", "remove completed jobs this long after they complete (2h, 7d, P7D, ms)")
      .option("--discarded-count <n>", "keep at most this many discarded or cancelled jobs")
      .option("--discarded-age <duration>", "remove discarded or cancelled jobs this long after they finish")
      .option("--clear", "remove the queue's rule: keep finished jobs as the server does by default"),
  ).action(
    run(ctx, async (queue: string, flags: RetentionFlags) => {
      const given = [flags.completedCount, flags.completedAge, flags.discardedCount, flags.discardedAge].some((v) => v !== undefined);
      if (given && flags.clear) throw new UsageError("--clear: cannot be combined with a count or an age");
      let now: QueueRetention | undefined;
      if (given || flags.clear) {
        const rule = (count: string | undefined, age: string | undefined, name: string): RetentionRule | undefined => {
          if (count === undefined && age === undefined) return undefined;
          const r: RetentionRule = {};
          if (count !== undefined) r.count = integer(`--${name}-count`, count, 0, 100_000_000);
          if (age !== undefined) r.age = durationArg(`--${name}-age`, age);
          return r;
        };
        const ret: QueueRetention = {};
        const c = rule(flags.completedCount, flags.completedAge, "completed");
        const d = rule(flags.discardedCount, flags.discardedAge, "discarded");
        if (c) ret.completed = c;
        if (d) ret.discarded = d;
        now = await withClient(flags, (cl) => cl.admin.setRetention(queue, flags.clear ? null : ret));
      } else now = await withClient(flags, async (cl) => (await cl.admin.getQueue(queue)).configuration.retention);
      if (flags.json) ctx.io.out(json({ queue, retention: now ?? null }));
      else
        ctx.io.out(
          keyValues([
            ["queue", queue],
            ["completed", ruleText(now?.completed)],
            ["discarded", ruleText(now?.discarded)],
          ]),
        );
    }),
  );
}
