/**
 * Garbage collection of an enqueueBatch run, in both processes: a server process (bench/server.ts,
 * memory store) and a client child (this file with `--client`), each started with V8's
 * `--trace-gc-nvp`, their stdout read here. The client sends `--batches` batches of `--size` jobs
 * awaited one after another (as the bench's enqueue scenario), `--rounds` times; for each round this
 * prints the wall time, each process's collector pauses (scavenges and mark-compacts apart, main
 * thread, as a share of the round's wall time), the bytes each allocated, copied inside the young
 * generation and promoted to the old one, per batched job. Promoted bytes per job near the bytes a
 * stored job keeps mean the survivors were copied by a scavenge before promotion (a second copy).
 * `--node-flag=F` (repeatable) adds a V8 flag to both processes (diagnosis only, e.g.
 * `--node-flag=--max-semi-space-size=64`); `--root=DIR` runs another checkout's server and client.
 * Server lines are counted while the client reports a round open (the two stdouts are read in
 * arrival order, so a collection at a round's edge may fall into the next).
 *
 *   npx tsx bench/batch-gc.ts [--batches=50] [--warm=5] [--size=1000] [--rounds=3] [--node-flag=F] [--root=DIR]
 */
import { fork, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const batches = arg("batches", 50);
const warm = arg("warm", 5);
const size = arg("size", 1_000);
const rounds = arg("rounds", 3);

/** Sums of one process's collections while a round is open. */
interface Tally {
  scavengeMs: number;
  scavenges: number;
  markCompactMs: number;
  markCompacts: number;
  allocated: number;
  survivedInNew: number;
  promoted: number;
}
const empty = (): Tally => ({ scavengeMs: 0, scavenges: 0, markCompactMs: 0, markCompacts: 0, allocated: 0, survivedInNew: 0, promoted: 0 });

function add(t: Tally, line: string): void {
  if (!line.includes(" pause=")) return;
  const f = new Map(line.split(" ").map((kv) => kv.split("=") as [string, string]));
  const pause = Number(f.get("pause") ?? 0);
  // Incremental marking runs in the mutator between collections; its steps are counted with the mark-compact.
  if (f.get("gc") === "s") ((t.scavengeMs += pause), t.scavenges++);
  else ((t.markCompactMs += pause + Number(f.get("incremental.steps_took") ?? 0)), t.markCompacts++);
  t.allocated += Number(f.get("allocated") ?? 0);
  t.survivedInNew += Number(f.get("new_space_survived") ?? 0);
  t.promoted += Number(f.get("promoted") ?? 0);
}

function per(t: Tally, wallMs: number, jobs: number) {
  return {
    scavengeShare: +(t.scavengeMs / wallMs).toFixed(3),
    markCompactShare: +(t.markCompactMs / wallMs).toFixed(3),
    scavenges: t.scavenges,
    markCompacts: t.markCompacts,
    allocatedPerJob: Math.round(t.allocated / jobs),
    copiedInNewPerJob: Math.round(t.survivedInNew / jobs),
    promotedPerJob: Math.round(t.promoted / jobs),
  };
}

async function orchestrate(): Promise<void> {
  const root = process.argv.find((a) => a.startsWith("--root="))?.slice(7);
  const benchDir = root ? `${root}/bench/` : fileURLToPath(new URL(".", import.meta.url));
  const flags = process.argv.filter((a) => a.startsWith("--node-flag=")).map((a) => a.slice(12));
  const execArgv = ["--import", "tsx", "--trace-gc-nvp", ...flags];
  const spawn = (file: string, args: string[]) => fork(benchDir + file, args, { execArgv, stdio: ["ignore", "pipe", "inherit", "ipc"] });
  const tallies = { server: empty(), client: empty() };
  let open = false;
  const read = (p: ChildProcess, t: () => Tally) => createInterface({ input: p.stdout! }).on("line", (l) => open && add(t(), l));
  const server = spawn("server.ts", []);
  read(server, () => tallies.server);
  const url = await new Promise<string>((resolve) => server.on("message", (m: { type: string; url?: string }) => m.type === "ready" && resolve(m.url!)));
  // The client child is always this tree's file; with --root it imports that tree's SDK.
  const client = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), "--client", `--url=${url}`], {
    execArgv,
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  read(client, () => tallies.client);
  await new Promise<void>((resolve) =>
    client.on("message", (m: { type: string; wallMs?: number }) => {
      if (m.type === "begin") ((open = true), (tallies.server = empty()), (tallies.client = empty()));
      if (m.type === "end") {
        open = false;
        const jobs = batches * size;
        const wallMs = m.wallMs!;
        console.log(
          JSON.stringify({
            jobsPerSec: Math.round(jobs / (wallMs / 1000)),
            client: per(tallies.client, wallMs, jobs),
            server: per(tallies.server, wallMs, jobs),
          }),
        );
      }
      if (m.type === "done") resolve();
    }),
  );
  await new Promise((r) => (client.once("exit", r), client.kill()));
  await new Promise((r) => (server.once("exit", r), server.send({ cmd: "stop" })));
}

async function clientChild(url: string): Promise<void> {
  const root = process.argv.find((a) => a.startsWith("--root="))?.slice(7);
  type Sdk = typeof import("../src/index.js");
  const sdk = (await import(root ? `${root}/src/index.ts` : "../src/index.js")) as Sdk;
  const { JOB_TYPE, payload } = await import("./common.js");
  const transport = sdk.grpcTransport({ url });
  const client = new sdk.Client({ url, transport });
  let i = 0;
  const make = () => Array.from({ length: size }, () => ({ type: JOB_TYPE, args: payload(i++), options: { queue: "batch" } }));
  for (let w = 0; w < warm; w++) await client.enqueueBatch(make());
  const say = (m: object) => new Promise<void>((r) => process.send!(m, undefined, undefined, () => r()));
  for (let r = 0; r < rounds; r++) {
    const prepared = Array.from({ length: batches }, make);
    await say({ type: "begin" });
    const t0 = performance.now();
    for (const b of prepared) await client.enqueueBatch(b);
    await say({ type: "end", wallMs: performance.now() - t0 });
  }
  await client.close();
  await transport.close();
  await say({ type: "done" });
}

if (process.argv.includes("--client")) await clientChild(process.argv.find((a) => a.startsWith("--url="))!.slice(6));
else await orchestrate();
