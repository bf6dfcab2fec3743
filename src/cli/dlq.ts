/** `dlq list|retry|delete`: the dead-letter queue, one job at a time or all at once (bulk, with progress). */
import type { Command } from "commander";
import type { Client } from "../client/client.js";
import { jobToJson } from "../codec/json.js";
import type { BulkResult, JobFilter } from "../model/admin.js";
import { integer } from "./args.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { EXIT, json, printList, progressBar, run, UsageError, withProgressFlags, type Ctx } from "./output.js";

interface DlqFlags extends ConnectionFlags {
  queue?: string;
  type?: string;
  all?: boolean;
  limit?: string;
  batchSize?: string;
  progress?: boolean;
}

/** Totals of a bulk action run in batches until nothing is left. */
interface BulkTotals {
  matched: number;
  succeeded: number;
  failed: number;
  errors: BulkResult["errors"];
}

const MAX_ERRORS_KEPT = 100;

/**
 * Repeats a bulk call until nothing matching is left, or a batch made no
 * progress (every job in it failed, so the next call would match them again).
 */
async function bulkAll(ctx: Ctx, flags: DlqFlags, label: string, call: (limit: number) => Promise<BulkResult>): Promise<BulkTotals> {
  const limit = integer("--batch-size", flags.batchSize ?? "500", 1, 10_000);
  const totals: BulkTotals = { matched: 0, succeeded: 0, failed: 0, errors: [] };
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    for (;;) {
      const r = await call(limit);
      if (!bar) {
        totals.matched = r.matched;
        bar = progressBar(ctx.io, r.matched, label, flags.progress);
      }
      totals.succeeded += r.succeeded;
      totals.failed += r.failed;
      for (const e of r.errors) if (totals.errors.length < MAX_ERRORS_KEPT) totals.errors.push(e);
      bar.add(r.succeeded + r.failed);
      if (r.remaining === 0 || r.succeeded === 0) break;
    }
  } finally {
    bar?.finish();
  }
  return totals;
}

function report(ctx: Ctx, flags: DlqFlags, verb: string, t: BulkTotals): void {
  if (flags.json) ctx.io.out(json(t));
  else {
    ctx.io.out(`${verb} ${t.succeeded} of ${t.matched} dead-letter jobs${t.failed ? `, ${t.failed} failed` : ""}`);
    for (const e of t.errors) ctx.io.err(`  ${e.jobId}: ${e.error}`);
  }
  if (t.failed > 0) ctx.exit(EXIT.failed);
}

type BulkOne = (c: Client, id: string) => Promise<void>;
type BulkAll = (c: Client, f: JobFilter, limit: number) => Promise<BulkResult>;

/** retry/delete ID... or --all with filters: one or the other. */
async function each(ctx: Ctx, flags: DlqFlags, ids: string[], verb: string, one: BulkOne, bulk: BulkAll): Promise<void> {
  if (flags.all && ids.length) throw new UsageError("give job IDs or --all, not both");
  if (!flags.all && !ids.length) throw new UsageError("give job IDs, or --all (with --queue/--type to narrow it)");
  if (!flags.all && (flags.queue !== undefined || flags.type !== undefined)) throw new UsageError("--queue and --type narrow --all");
  await withClient(flags, async (c) => {
    if (flags.all) {
      const filter: JobFilter = {
        deadLetter: true,
        ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
        ...(flags.type !== undefined ? { type: flags.type } : {}),
      };
      report(ctx, flags, verb, await bulkAll(ctx, flags, verb, (limit) => bulk(c, filter, limit)));
      return;
    }
    const t: BulkTotals = { matched: ids.length, succeeded: 0, failed: 0, errors: [] };
    for (const id of ids) {
      try {
        await one(c, id);
        t.succeeded++;
      } catch (e) {
        // Unreachable server: stop here rather than report every ID as failed.
        if ((e as { code?: string }).code === "unavailable") throw e;
        t.failed++;
        if (t.errors.length < MAX_ERRORS_KEPT) t.errors.push({ jobId: id, error: e instanceof Error ? e.message : String(e) });
      }
    }
    report(ctx, flags, verb, t);
  });
}

export function dlqCommands(program: Command, ctx: Ctx): void {
  const dlq = program
    .command("dlq")
    .summary("the dead-letter queue: list, retry, delete")
    .description("The dead-letter queue: jobs discarded after their last attempt.");

  withConnectionFlags(
    dlq
      .command("list")
      .summary("list dead-letter jobs, newest first")
      .option("--queue <name>", "only this queue")
      .option("--limit <n>", "at most this many (1-1000)", "50"),
  ).action(
    run(ctx, async (flags: DlqFlags) => {
      const limit = integer("--limit", flags.limit ?? "50", 1, 1000);
      const page = await withClient(flags, (c) => c.listDeadLetterJobs({ limit, ...(flags.queue !== undefined ? { queue: flags.queue } : {}) }));
      printList(ctx, flags, page.items, {
        json: (j) => jobToJson(j),
        empty: "the dead-letter queue is empty",
        headers: ["ID", "TYPE", "QUEUE", "ATTEMPTS", "ERROR"],
        row: (j) => [j.id, j.type, j.queue, j.attempt, j.errors.at(-1)?.message],
      });
      if (page.totalCount !== undefined && page.totalCount > page.items.length) ctx.io.out(`(${page.items.length} of ${page.totalCount}; --limit for more)`);
    }),
  );

  const bulkFlags = (cmd: Command) =>
    withConnectionFlags(
      withProgressFlags(
        cmd
          .argument("[ids...]", "dead-letter job IDs")
          .option("--all", "every dead-letter job (narrowed by --queue and --type)")
          .option("--queue <name>", "with --all: only this queue")
          .option("--type <type>", 'with --all: only this job type, or a prefix ending in ".*"')
          .option("--batch-size <n>", "with --all: jobs per bulk request (1-10000)", "500"),
      ),
    );

  /** The bulk actions: by IDs one at a time, or --all through the admin API's bulk requests. */
  const actions: Array<{ name: string; summary: string; verb: string; one: BulkOne; all: BulkAll }> = [
    {
      name: "retry",
      summary: "retry dead-letter jobs with a fresh attempt budget",
      verb: "retried",
      one: async (c, id) => void (await c.retryDeadLetterJob(id)),
      all: (c, f, limit) => c.admin.retryJobs(f, { confirm: true, limit }),
    },
    {
      name: "delete",
      summary: "delete dead-letter jobs for good",
      verb: "deleted",
      one: (c, id) => c.deleteDeadLetterJob(id),
      all: (c, f, limit) => c.admin.deleteJobs(f, { confirm: true, limit }),
    },
  ];
  for (const { name, summary, verb, one, all } of actions) {
    bulkFlags(dlq.command(name).summary(summary)).action(run(ctx, (ids: string[], flags: DlqFlags) => each(ctx, flags, ids, verb, one, all)));
  }
}
