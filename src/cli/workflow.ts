/** `workflow get ID`: a workflow's state and each step's. */
import type { Command } from "commander";
import { workflowToJson } from "../codec/workflow.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { json, keyValues, run, table, type Ctx } from "./output.js";

export function workflowCommands(program: Command, ctx: Ctx): void {
  const wf = program.command("workflow").summary("workflows: get").description("Workflows: chains, groups and batches of jobs.");
  withConnectionFlags(wf.command("get").summary("show a workflow and its steps").argument("<id>", "workflow ID")).action(
    run(ctx, async (id: string, flags: ConnectionFlags) => {
      const w = await withClient(flags, (c) => c.getWorkflow(id));
      if (flags.json) {
        ctx.io.out(json(workflowToJson(w)));
        return;
      }
      ctx.io.out(
        keyValues([
          ["id", w.id],
          ["name", w.name],
          ["state", w.state],
          ["created", w.createdAt?.toISOString()],
          ["completed", w.completedAt?.toISOString()],
        ]),
      );
      ctx.io.out("");
      ctx.io.out(
        table(
          ["STEP", "TYPE", "STATE", "JOB", "DEPENDS ON"],
          w.steps.map((s) => [s.id, s.type, s.state, s.jobId, s.dependsOn?.length ? s.dependsOn.join(",") : undefined]),
        ),
      );
    }),
  );
}
