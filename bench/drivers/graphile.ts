/**
 * graphile-worker on PostgreSQL, as its docs set it up: jobs added through
 * WorkerUtils (addJob, addJobs for a batch), a runner at the scenario's
 * concurrency with its defaults (no local queue, no batched completion: the
 * "unbatched" figure), LISTEN/NOTIFY for new jobs. The scenario's queue is the
 * task identifier (graphile's queue_name would run its jobs one at a time).
 */
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from "graphile-worker";
import type { Args, Driver, WorkerHooks } from "./index.js";

/** graphile-worker logs every job at info level: silenced, as BullMQ and our SDK are silent. */
const quiet = new Logger(() => (level, message) => {
  if (level === "error") console.error(`[bench] graphile-worker: ${message}`);
});

export async function graphileDriver(connectionString: string, task: string): Promise<Driver> {
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString, logger: quiet });
  const runners: Runner[] = [];
  return {
    enqueue: (args) => utils.addJob(task, { args }),
    enqueueBatch: (list: Args[]) => utils.addJobs(list.map((args) => ({ identifier: task, payload: { args } }))),
    async startWorker(h: WorkerHooks) {
      const runner = await run({
        connectionString,
        concurrency: h.concurrency,
        // One connection per concurrent job, plus LISTEN and housekeeping.
        maxPoolSize: h.concurrency + 2,
        noHandleSignals: true,
        logger: quiet,
        taskList: {
          [task]: (payload) => {
            h.onStart((payload as { args: Args }).args);
          },
        },
      });
      // Emitted once the job is passed to completeJob (graphile-worker does not await the commit before it).
      runner.events.on("job:complete", ({ error }) => {
        if (!error) h.onCompleted();
      });
      runners.push(runner);
      return { stop: () => runner.stop() };
    },
    async close() {
      await Promise.all(runners.splice(0).map((r) => r.stop().catch(() => undefined)));
      await utils.release();
    },
  };
}
