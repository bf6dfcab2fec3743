/** `enqueue`, `get` and `cancel`: one job at a time (`enqueue --file` is ./enqueue-file.ts). */
import type { Command } from "commander";
import { jobToJson } from "../codec/json.js";
import type { EnqueueOptions, Job } from "../model/job.js";
import { integer, jsonArray, jsonObject } from "./args.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { enqueueFile } from "./enqueue-file.js";
import { json, keyValues, run, UsageError, withProgressFlags, type Ctx } from "./output.js";

const at = (d: Date | undefined) => d?.toISOString();

/** A job as "key  value" lines: what a person looks for first. */
export function jobText(job: Job): string {
  const last = job.errors.at(-1);
  return keyValues([
    ["id", job.id],
    ["type", job.type],
    ["queue", job.queue],
    ["state", job.state],
    ["priority", job.priority],
    ["attempt", job.maxAttempts !== undefined ? `${job.attempt} of ${job.maxAttempts}` : job.attempt],
    ["args", JSON.stringify(job.args)],
    ["meta", Object.keys(job.meta).length ? JSON.stringify(job.meta) : undefined],
    ["created", at(job.createdAt)],
    ["scheduled", at(job.scheduledAt)],
    ["started", at(job.startedAt)],
    ["completed", at(job.completedAt)],
    ["cancelled", at(job.cancelledAt)],
    ["workflow", job.workflowId],
    ["result", job.result === undefined ? undefined : JSON.stringify(job.result)],
    ["error", last ? `${last.code ? `[${last.code}] ` : ""}${last.message}` : undefined],
  ]);
}

/** The job as OJS JSON (its `id` at the top level) or as text. */
export function printJob(ctx: Ctx, flags: ConnectionFlags, job: Job): void {
  ctx.io.out(flags.json ? json(jobToJson(job)) : jobText(job));
}

interface EnqueueFlags extends ConnectionFlags {
  args?: string;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  meta?: string;
  file?: string;
  batchSize?: string;
  progress?: boolean;
}

export function jobCommands(program: Command, ctx: Ctx): void {
  withConnectionFlags(
    withProgressFlags(
      program
        .command("enqueue")
        .summary("enqueue a job, or every job of an NDJSON file")
        .description(
          "Enqueues job TYPE with --args and prints it (--json: the job as OJS JSON, id at the top level).\nWith --file, enqueues every line of an NDJSON file (one OJS job object a line, as POST /ojs/v1/jobs takes) in batches.",
        )
        .argument("[type]", "job type, e.g. email.send")
        .option("--args <json>", "arguments as a JSON array", "[]")
        .option("--queue <name>", "queue (default: default; with --file, for lines that name none)")
        .option("--priority <n>", "priority (higher runs first)")
        .option("--max-attempts <n>", "attempts before the job is discarded")
        .option("--meta <json>", "metadata as a JSON object")
        .option("--file <path>", "NDJSON file of jobs to enqueue instead of TYPE")
        .option("--batch-size <n>", "jobs per batch request with --file", "100"),
      " of --file",
    ),
  ).action(
    run(ctx, async (type: string | undefined, flags: EnqueueFlags) => {
      const options = enqueueOptions(flags);
      if (flags.file !== undefined) {
        if (type !== undefined) throw new UsageError("give TYPE or --file, not both");
        await enqueueFile(ctx, flags, flags.file, options, integer("--batch-size", flags.batchSize ?? "100", 1, 1000));
        return;
      }
      if (type === undefined) throw new UsageError("missing the job TYPE (or --file)");
      const args = jsonArray("--args", flags.args ?? "[]");
      const job = await withClient(flags, (c) => c.enqueue(type, args, options));
      printJob(ctx, flags, job);
    }),
  );

  withConnectionFlags(program.command("get").summary("show a job").argument("<id>", "job ID")).action(
    run(ctx, async (id: string, flags: ConnectionFlags) => {
      printJob(ctx, flags, await withClient(flags, (c) => c.getJob(id)));
    }),
  );

  withConnectionFlags(program.command("cancel").summary("cancel a job that has not finished").argument("<id>", "job ID")).action(
    run(ctx, async (id: string, flags: ConnectionFlags) => {
      printJob(ctx, flags, await withClient(flags, (c) => c.cancelJob(id)));
    }),
  );
}

function enqueueOptions(flags: EnqueueFlags): EnqueueOptions {
  const o: EnqueueOptions = {};
  if (flags.queue !== undefined) o.queue = flags.queue;
  if (flags.priority !== undefined) o.priority = integer("--priority", flags.priority, -100, 100);
  if (flags.maxAttempts !== undefined) o.retry = { maxAttempts: integer("--max-attempts", flags.maxAttempts, 1) };
  if (flags.meta !== undefined) o.meta = jsonObject("--meta", flags.meta);
  return o;
}
