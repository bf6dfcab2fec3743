/** `events --follow`: the server's lifecycle events as they happen, filtered, until Ctrl-C. */
import type { Command } from "commander";
import { eventToJson } from "../codec/json.js";
import type { EventFilter } from "../model/events.js";
import { integer } from "./args.js";
import { connect, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { json, run, UsageError, type Ctx } from "./output.js";

interface EventFlags extends ConnectionFlags {
  follow?: boolean;
  type?: string[];
  queue?: string[];
  job?: string;
  workflow?: string;
  count?: string;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function eventsCommand(program: Command, ctx: Ctx): void {
  withConnectionFlags(
    program
      .command("events")
      .summary("follow lifecycle events (job.enqueued, job.completed, queue.paused...)")
      .description(
        "Prints lifecycle events as they happen, one a line (--json: CloudEvents JSON), until Ctrl-C\nor --count events. Reconnects by itself when the connection breaks.",
      )
      .option("-f, --follow", "keep following (the default; the flag is accepted for habit's sake)")
      .option("--type <type>", 'only this event type, or a prefix ending in "*" such as "job.*" (repeatable)', collect)
      .option("--queue <name>", "only events of this queue (repeatable)", collect)
      .option("--job <id>", "only events of this job")
      .option("--workflow <id>", "only events of this workflow")
      .option("--count <n>", "stop after this many events"),
  ).action(
    run(ctx, async (flags: EventFlags) => {
      const filter: EventFilter = {};
      if (flags.type?.length) filter.types = flags.type;
      if (flags.queue?.length) filter.queues = flags.queue;
      if (flags.job !== undefined) filter.jobId = flags.job;
      if (flags.workflow !== undefined) filter.workflowId = flags.workflow;
      const max = flags.count === undefined ? Infinity : integer("--count", flags.count, 1);
      if (flags.job === "" || flags.workflow === "") throw new UsageError("--job and --workflow need an ID");
      const client = connect(flags);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      let seen = 0;
      try {
        for await (const e of client.events({ ...filter, signal: stop.signal })) {
          if (flags.json) ctx.io.out(json(eventToJson(e, "ojs-connect")));
          else {
            const subject = [e.jobId && `job ${e.jobId}`, e.jobType, e.queue && `queue ${e.queue}`, e.workflowId && `workflow ${e.workflowId}`]
              .filter(Boolean)
              .join(" ");
            const data = Object.keys(e.data).length ? ` ${JSON.stringify(e.data)}` : "";
            ctx.io.out(`${e.time.toISOString()} ${e.type} ${subject}${data}`);
          }
          if (++seen >= max) break;
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await client.close();
      }
    }),
  );
}
