/**
 * The two processes of bench/batch-cold.ts: `--server` (the embedded server on the memory store, as
 * bench/server.ts) and `--client` (the quick enqueue scenario's sequence through the bench's own
 * driver), each of the checkout given by `--root=DIR`. Both answer "snap" with their CPU time
 * (whole process, and the main thread apart from V8's helper threads) and collections so far, and
 * write a marker line to stdout at every section, so that V8's trace lines (--trace-gc-nvp,
 * --trace-opt, --trace-deopt) printed between two markers belong to that section.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { PerformanceObserver, constants, type PerformanceEntry } from "node:perf_hooks";

export interface Snap {
  cpuUs: number;
  /** On-CPU time of the main thread and of every other thread (V8's compiler and collector helpers), from schedstat. */
  mainUs: number;
  otherUs: number;
  minor: number;
  major: number;
  minorMs: number;
  majorMs: number;
}

/** One section's end: its wall time (0 where none was timed) and both processes' snapshots there. */
export interface Mark {
  label: string;
  ms: number;
  client: Snap;
  server: Snap;
}

export type ToParent =
  | { type: "ready"; url: string }
  | { type: "snap"; snap: Snap; id: number }
  /** The client asks for the server's snapshot (relayed back as "server-snap"), or to start or stop its profile. */
  | { type: "ask"; id: number; label: string }
  | { type: "profile"; on: boolean; name: string }
  | { type: "marks"; marks: Mark[]; walls: number[]; allMs: number }
  | { type: "done" };

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = arg("root")!;
const profileTo = arg("profile");

const gc = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) ((gc.minor += 1), (gc.minorMs += e.duration));
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) ((gc.major += 1), (gc.majorMs += e.duration));
  }
}).observe({ entryTypes: ["gc"] });

function threadsUs(): { mainUs: number; otherUs: number } {
  let mainUs = 0;
  let otherUs = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      if (Number(tid) === process.pid) mainUs += ns / 1000;
      else otherUs += ns / 1000;
    } catch {
      // A thread gone meanwhile.
    }
  }
  return { mainUs, otherUs };
}

/** The observer's entries arrive a turn after the collection: one turn first. */
async function snap(): Promise<Snap> {
  await new Promise((r) => setImmediate(r));
  const c = process.cpuUsage();
  return { cpuUs: c.user + c.system, ...threadsUs(), ...gc };
}

const marker = (label: string) => process.stdout.write(`@@ ${label}\n`);

let session: Session | undefined;
async function profile(on: boolean, name: string): Promise<void> {
  if (!profileTo) return;
  if (on) {
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
    return;
  }
  const { profile: p } = await session!.post("Profiler.stop");
  writeFileSync(`${profileTo}/${name}.cpuprofile`, JSON.stringify(p));
}

process.on("disconnect", () => process.exit(1));
const send = (m: ToParent) => new Promise<void>((r) => process.send!(m, undefined, undefined, () => r()));

if (process.argv.includes("--server")) {
  type ServerModule = typeof import("../src/server/index.js");
  const { startServer } = (await import(`${root}/src/server/index.ts`)) as ServerModule;
  const server = await startServer({ port: 0 });
  process.on("message", (m: { cmd: string; id?: number; label?: string; on?: boolean; name?: string }) => {
    if (m.cmd === "snap") {
      marker(m.label!);
      void snap().then((s) => send({ type: "snap", snap: s, id: m.id! }));
    }
    if (m.cmd === "profile") void profile(m.on === true, m.name!);
    if (m.cmd === "stop") void server.close().then(() => process.exit(0));
  });
  await send({ type: "ready", url: server.url });
} else {
  const url = arg("url")!;
  const name = arg("name")!;
  const after = Number(arg("after") ?? 0);
  type Drivers = typeof import("./drivers/ojs.js");
  type Common = typeof import("./common.js");
  const { ojsDriver } = (await import(`${root}/bench/drivers/ojs.ts`)) as Drivers;
  const { payload, QUICK } = (await import(`${root}/bench/common.ts`)) as Common;
  const d = ojsDriver(url, "grpc", `bench-cold-${Date.now().toString(36)}`);
  // The orchestrator asks the server for its snapshot and relays it: "ask" k, then the server's reply.
  let asked = 0;
  const replies = new Map<number, (s: Snap) => void>();
  process.on("message", (m: { type: string; id: number; snap: Snap }) => m.type === "server-snap" && replies.get(m.id)?.(m.snap));
  const both = async (label: string) => {
    marker(label);
    const id = ++asked;
    const server = new Promise<Snap>((r) => replies.set(id, r));
    await send({ type: "ask", id, label });
    const [client, srv] = await Promise.all([snap(), server]);
    replies.delete(id);
    return { client, server: srv };
  };
  // bench/scenarios/enqueue.ts with QUICK sizes, step by step.
  const { enqueueWarmup, enqueueSequential, enqueueConcurrent, callers, batchSize, batches } = QUICK;
  let i = 0;
  // Per-batch snapshots put two IPC round trips between batches; --plain takes them only around all
  // five, as the bench's figure (batches back to back), and still times each batch.
  const plain = process.argv.includes("--plain");
  const marks: Mark[] = [];
  const at = async (label: string, ms = 0) => void marks.push({ label, ms, ...(await both(label)) });
  await at("start");
  for (let w = 0; w < enqueueWarmup; w++) await d.enqueue(payload(i++));
  for (let n = 0; n < enqueueSequential; n++) await d.enqueue(payload(i++));
  let left = enqueueConcurrent;
  const caller = async () => {
    while (left > 0) {
      left--;
      await d.enqueue(payload(i++));
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  const makeBatch = () => Array.from({ length: batchSize }, () => payload(i++));
  const first = makeBatch();
  await at("singles");
  let t0 = performance.now();
  await d.enqueueBatch(first);
  await at("warm-up batch", performance.now() - t0);
  const prepared = Array.from({ length: batches }, makeBatch);
  const later = Array.from({ length: after }, makeBatch);
  await at("prepared");
  if (profileTo) await Promise.all([profile(true, ""), send({ type: "profile", on: true, name: "" })]);
  const walls: number[] = [];
  const all0 = performance.now();
  for (let b = 0; b < prepared.length; b++) {
    t0 = performance.now();
    await d.enqueueBatch(prepared[b]!);
    walls.push(performance.now() - t0);
    if (!plain) await at(`batch ${b + 1}`, walls[b]);
  }
  const allMs = performance.now() - all0;
  if (plain) await at("batches", allMs);
  if (profileTo) await Promise.all([profile(false, `${name}-client`), send({ type: "profile", on: false, name: `${name}-server` })]);
  for (let b = 0; b < later.length; b++) {
    t0 = performance.now();
    await d.enqueueBatch(later[b]!);
    await at(`later ${b + 1}`, performance.now() - t0);
  }
  await send({ type: "marks", marks, walls, allMs });
  await d.close();
  process.send!({ type: "marks", marks });
  await send({ type: "done" });
}
