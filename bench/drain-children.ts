/**
 * The two children of the journal drain benches (journal-drain.ts,
 * journal-cycle.ts): the worker process that drains a queue, and the
 * orchestrator's side of the server process (its URL, then one answer per
 * message asked). Each script keeps its own server child, which measures what
 * that script is about.
 */
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";

/** One Worker (concurrency 50, no-op handler) of the tree at `root` drains `jobs` jobs; sends seconds and CPU µs. */
export async function drainWorker(root: string, url: string, queue: string, jobs: number): Promise<void> {
  const { Worker } = (await import(resolve(root, "src/index.ts"))) as typeof import("../src/index.js");
  const w = new Worker({ url, transport: "grpc", queues: [queue], concurrency: 50, handleSignals: false, logger: false });
  let done = 0;
  const all = new Promise<void>((ok) => w.on("job.completed", () => ++done === jobs && ok()));
  w.register("bench.noop", () => undefined);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  void w.start();
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  process.send!({ seconds, cpu: c.user + c.system });
  await w.stop({ gracePeriodMs: 2_000 });
  process.disconnect();
}

/**
 * A forked server child: waits for the URL it sends first; `ask` sends a message and resolves with
 * the next answer; `stop` asks it to stop, waits for its exit and forgets the kill at this process's exit.
 */
export async function serverChild(srv: ChildProcess): Promise<{ url: string; ask: <T>(msg: string) => Promise<T>; stop: () => Promise<void> }> {
  const kill = () => srv.kill();
  process.on("exit", kill);
  const ask = <T>(msg: string): Promise<T> =>
    new Promise((ok) => {
      srv.once("message", (m) => ok(m as T));
      srv.send(msg);
    });
  const url = await new Promise<string>((ok) => srv.once("message", (m) => ok(m as string)));
  const stop = async (): Promise<void> => {
    await new Promise((ok) => {
      srv.once("exit", ok);
      srv.send("stop");
    });
    process.off("exit", kill);
  };
  return { url, ask, stop };
}
