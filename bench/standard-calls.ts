/**
 * CPU per call of the standard ojs.v1 methods (the `grpc-standard` system) on
 * its own: a `startServer({ fastPath: false })` process and this client
 * process, `process.cpuUsage` of each around the measured calls. Shorter than
 * a bench run, and it takes the tree to load, so two trees can be compared
 * in alternation (A/B) on the same machine:
 *
 *   npx tsx bench/standard-calls.ts [--root=/path/to/other/checkout] [--calls=20000] [--only=enqueue,sequential,worker] [--calls-by-method]
 *
 * - enqueue: Client.enqueue from 32 callers at once (after 2 000 thrown away).
 * - sequential: Client.enqueue, one call awaited at a time (`calls` / 4 of them).
 * - worker: `calls` jobs queued by enqueueBatch, then one Worker (concurrency 50) runs them.
 * --calls-by-method prints the server's tally of gRPC calls by method (how many calls a job costs).
 * Profiles of both processes (the server child gets node's flags too; bench/profile.ts summarises them):
 *   node --import tsx --cpu-prof --cpu-prof-dir=DIR bench/standard-calls.ts
 */
import { fork } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = resolve(arg("root") ?? fileURLToPath(new URL("..", import.meta.url)));
const src = (path: string) => import(resolve(root, "src", path));

interface Cpu {
  cpu: NodeJS.CpuUsage;
}

if (process.argv[2] === "server") {
  const { startServer } = (await src("server/index.ts")) as typeof import("../src/server/index.js");
  const { serverCore } = (await src("server/internal.ts")) as typeof import("../src/server/internal.js");
  const server = await startServer({ port: 0, fastPath: false });
  process.send!(server.url);
  process.on("message", (m) => {
    if (m === "cpu") process.send!({ cpu: process.cpuUsage() } satisfies Cpu);
    if (m === "calls") process.send!(Object.fromEntries(serverCore(server).grpcCalls));
    if (m === "stop") void server.close().then(() => process.exit(0));
  });
} else {
  await client();
}

async function client(): Promise<void> {
  const { Client, Worker } = (await src("index.ts")) as typeof import("../src/index.js");
  const n = Number(arg("calls") ?? 20_000);
  const only = (arg("only") ?? "enqueue,worker").split(",");
  const server = fork(fileURLToPath(import.meta.url), ["server", `--root=${root}`], { execArgv: process.execArgv, stdio: "inherit" });
  // Never left behind: the server child ends with this process.
  process.on("exit", () => server.kill());
  const ask = <T>(msg: string): Promise<T> =>
    new Promise((ok) => {
      server.once("message", (m) => ok(m as T));
      server.send(msg);
    });
  const url = await new Promise<string>((ok) => server.once("message", (m) => ok(m as string)));
  const total = (c: NodeJS.CpuUsage) => c.user + c.system;
  const lines: string[] = [`root ${root}`];

  const measure = async (name: string, calls: number, work: () => Promise<void>) => {
    const c0 = process.cpuUsage();
    const s0 = total((await ask<Cpu>("cpu")).cpu);
    const t0 = performance.now();
    await work();
    const seconds = (performance.now() - t0) / 1000;
    const c = total(process.cpuUsage(c0));
    const s = total((await ask<Cpu>("cpu")).cpu) - s0;
    lines.push(`${name}: ${Math.round(calls / seconds)}/s, CPU per call client ${Math.round(c / calls)} µs, server ${Math.round(s / calls)} µs`);
  };

  const client = new Client({ url, transport: "grpc" });
  const callers = async (calls: number, queue: string) => {
    let left = calls;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (left-- > 0) await client.enqueue("bench.noop", [1, "x"], { queue });
      }),
    );
  };
  await callers(2_000, "warmup");
  if (only.includes("enqueue")) await measure("enqueue, 32 callers", n, () => callers(n, "enqueue"));
  if (only.includes("sequential")) {
    const calls = Math.ceil(n / 4);
    await measure("enqueue, sequential", calls, async () => {
      for (let i = 0; i < calls; i++) await client.enqueue("bench.noop", [1, "x"], { queue: "sequential" });
    });
  }
  if (only.includes("worker")) {
    for (let i = 0; i < n; i += 1_000)
      await client.enqueueBatch(Array.from({ length: Math.min(1_000, n - i) }, () => ({ type: "bench.noop", args: [1], options: { queue: "work" } })));
    const worker = new Worker({ url, transport: "grpc", queues: ["work"], concurrency: 50, handleSignals: false });
    let done = 0;
    const all = new Promise<void>((ok) => worker.on("job.completed", () => ++done === n && ok()));
    worker.register("bench.noop", () => undefined);
    await measure("one worker, concurrency 50", n, async () => {
      void worker.start();
      await all;
    });
    await worker.stop({ gracePeriodMs: 2_000 });
  }
  if (process.argv.includes("--calls-by-method")) lines.push(`server calls by method: ${JSON.stringify(await ask<Record<string, number>>("calls"))}`);
  await client.close();
  await new Promise((ok) => {
    server.once("exit", ok);
    server.send("stop");
  });
  console.log(lines.join("\n"));
}
