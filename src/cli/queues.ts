/** `queues`, `stats`, `pause QUEUE` and `resume QUEUE` (the admin API's queue view). */
import type { Command } from "commander";
import type { AdminQueue } from "../model/admin.js";
import { withClient, withConnectionFlags, type ConnectionFlags } from "./connect.js";
import { json, keyValues, printList, run, type Ctx } from "./output.js";

const perMinute = (n: number) => (Math.round(n * 10) / 10).toString();

export function queueCommands(program: Command, ctx: Ctx): void {
  withConnectionFlags(program.command("queues").summary("list queues with their job counts")).action(
    run(ctx, async (flags: ConnectionFlags) => {
      const queues: AdminQueue[] = [];
      await withClient(flags, async (c) => {
        // Pages of 100 until the last; a server with very many queues is still read in full, page by page.
        for (let page = 1; ; page++) {
          const p = await c.admin.listQueues({ page, perPage: 100 });
          queues.push(...p.items);
          if (p.items.length < 100 || queues.length >= p.total) break;
        }
      });
      printList(ctx, flags, queues, {
        json: (q) => q,
        empty: "no queues",
        headers: ["QUEUE", "STATE", "AVAILABLE", "SCHEDULED", "ACTIVE", "RETRYABLE", "COMPLETED", "DISCARDED", "CANCELLED", "DEAD", "DONE/MIN", "FAILED/MIN"],
        row: (q) => [
          q.name,
          q.state,
          q.counts.available,
          q.counts.scheduled,
          q.counts.active,
          q.counts.retryable,
          q.counts.completed,
          q.counts.discarded,
          q.counts.cancelled,
          q.deadLetter,
          perMinute(q.throughput.processedPerMinute),
          perMinute(q.throughput.failedPerMinute),
        ],
      });
    }),
  );

  withConnectionFlags(program.command("stats").summary("server-wide counts, throughput and uptime")).action(
    run(ctx, async (flags: ConnectionFlags) => {
      const s = await withClient(flags, (c) => c.admin.stats());
      if (flags.json) {
        ctx.io.out(json(s));
        return;
      }
      ctx.io.out(
        keyValues([
          ["queues", s.queues],
          ["workers", s.workers],
          ...Object.entries(s.jobs).map(([state, n]) => [state, n] as [string, number]),
          ["dead letter", s.deadLetter],
          ["done/min", perMinute(s.throughput.processedPerMinute)],
          ["failed/min", perMinute(s.throughput.failedPerMinute)],
          ["uptime", `${Math.round(s.uptimeSeconds)} s`],
        ]),
      );
    }),
  );

  for (const [name, verb] of [
    ["pause", "paused"],
    ["resume", "resumed"],
  ] as const) {
    withConnectionFlags(
      program
        .command(name)
        .summary(name === "pause" ? "stop delivering a queue's jobs to workers (enqueueing goes on)" : "deliver a paused queue's jobs again")
        .argument("<queue>", "queue name"),
    ).action(
      run(ctx, async (queue: string, flags: ConnectionFlags) => {
        await withClient(flags, (c) => (name === "pause" ? c.pauseQueue(queue) : c.resumeQueue(queue)));
        ctx.io.out(flags.json ? json({ queue, state: name === "pause" ? "paused" : "active" }) : `queue ${queue} ${verb}`);
      }),
    );
  }
}
