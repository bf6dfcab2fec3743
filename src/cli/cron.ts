/** `cron list|add|remove`: recurring jobs. */
import type { Command } from "commander";
import { cronToJson } from "../codec/admin.js";
import type { CronRegistration } from "../model/system.js";
import { integer, jsonArray } from "./args.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { json, printList, run, type Ctx } from "./output.js";

interface CronAddFlags extends ConnectionFlags {
  type: string;
  args?: string;
  queue?: string;
  priority?: string;
  timezone?: string;
}

export function cronCommands(program: Command, ctx: Ctx): void {
  const cron = program.command("cron").summary("recurring jobs: list, add, remove").description("Recurring jobs: a job type enqueued on a cron schedule.");

  withConnectionFlags(cron.command("list").summary("list schedules with their next runs")).action(
    run(ctx, async (flags: ConnectionFlags) => {
      const jobs = await withClient(flags, (c) => c.listCronJobs());
      printList(ctx, flags, jobs, {
        json: (j) => cronToJson(j),
        empty: "no cron schedules",
        headers: ["NAME", "SCHEDULE", "TIMEZONE", "TYPE", "QUEUE", "NEXT RUN", "LAST RUN"],
        row: (j) => [j.name, j.cron, j.timezone, j.type, j.options.queue ?? "default", j.nextRunAt?.toISOString(), j.lastRunAt?.toISOString()],
      });
    }),
  );

  withConnectionFlags(
    cron
      .command("add")
      .summary("add or replace a schedule")
      .argument("<name>", "schedule name (adding a name again replaces it)")
      .argument("<schedule>", 'cron expression, e.g. "*/5 * * * *", "@daily" or "@every 5m"')
      .requiredOption("--type <type>", "job type to enqueue")
      .option("--args <json>", "arguments as a JSON array", "[]")
      .option("--queue <name>", "queue of the jobs")
      .option("--priority <n>", "priority of the jobs")
      .option("--timezone <zone>", "IANA time zone (default UTC)"),
  ).action(
    run(ctx, async (name: string, schedule: string, flags: CronAddFlags) => {
      const def: CronRegistration = { name, cron: schedule, type: flags.type, args: jsonArray("--args", flags.args ?? "[]") };
      if (flags.timezone !== undefined) def.timezone = flags.timezone;
      const options: NonNullable<CronRegistration["options"]> = {};
      if (flags.queue !== undefined) options.queue = flags.queue;
      if (flags.priority !== undefined) options.priority = integer("--priority", flags.priority, -100, 100);
      if (Object.keys(options).length) def.options = options;
      const r = await withClient(flags, (c) => c.registerCronJob(def));
      ctx.io.out(
        flags.json
          ? json({ name: r.name, next_run_at: r.nextRunAt?.toISOString() ?? null })
          : `cron ${r.name} added${r.nextRunAt ? `, next run ${r.nextRunAt.toISOString()}` : ""}`,
      );
    }),
  );

  withConnectionFlags(cron.command("remove").summary("remove a schedule").argument("<name>", "schedule name")).action(
    run(ctx, async (name: string, flags: ConnectionFlags) => {
      await withClient(flags, (c) => c.unregisterCronJob(name));
      ctx.io.out(flags.json ? json({ name, removed: true }) : `cron ${name} removed`);
    }),
  );
}
