/**
 * `ojs-connect wait ID`: blocks until the job reaches a terminal state, prints
 * it, and exits 0 when it completed, 1 when it was cancelled or discarded or
 * waiting failed (unknown job, timeout), 3 when the server cannot be reached.
 */
import type { Command } from "commander";
import { jobToJson } from "../codec/json.js";
import { integer } from "./args.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { EXIT, json, run, UsageError, type Ctx } from "./output.js";

interface WaitFlags extends ConnectionFlags {
  timeoutMs?: string;
}

export function waitCommand(program: Command, ctx: Ctx): void {
  withConnectionFlags(
    program
      .command("wait")
      .summary("wait until a job is completed, cancelled or discarded")
      .description(
        'Waits until job ID is completed, cancelled or discarded. Prints "ID state" and the result or\nlast error (--json: the whole job as OJS JSON). Exit status: 0 completed, 1 cancelled, discarded\nor waiting failed, 2 usage, 3 server unreachable.',
      )
      .argument("[id]", "job ID")
      .option("--timeout-ms <n>", "give up after this long (exit 1)"),
  ).action(
    run(ctx, async (id: string | undefined, flags: WaitFlags) => {
      if (id === undefined) throw new UsageError("missing the job ID");
      const timeoutMs = flags.timeoutMs === undefined ? undefined : integer("--timeout-ms", flags.timeoutMs, 1);
      const job = await withClient(flags, (c) => c.waitForJob(id, timeoutMs !== undefined ? { timeoutMs } : {}));
      if (flags.json) ctx.io.out(json(jobToJson(job)));
      else {
        const lastError = job.errors.at(-1);
        const detail =
          job.state === "completed" ? (job.result === undefined ? "" : ` ${JSON.stringify(job.result)}`) : lastError ? ` ${lastError.message}` : "";
        ctx.io.out(`${job.id} ${job.state}${detail}`);
      }
      if (job.state !== "completed") ctx.exit(EXIT.failed);
    }),
  );
}
