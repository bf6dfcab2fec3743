/**
 * Summarises V8 CPU profiles (from `npm run bench -- --profile`): self time by
 * function and by module, and time on the stack (inclusive) by module, so that
 * "where does the time go" has numbers.
 *
 *   npx tsx bench/profile.ts bench/results/profiles/sdk-grpc-throughput.cpuprofile [--top=25] [--callers=ConnectError]
 *
 * --callers=NAME prints the heaviest call paths (8 frames up) into functions named NAME.
 * --window=NAME[,NAME...] keeps only the samples from the first to the last with a function of one of
 * those names on the stack (a server's profile covers its whole life: start-up, warm-up and idle
 * time around the phase measured), and drops the first fifth of that window (JIT warm-up).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The module a frame belongs to: a package, a node subsystem, a folder of ours, or a V8 pseudo-frame. */
export function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  if (url.startsWith("node:")) {
    const p = url.replace(/^node:(internal\/)?/, "").split("/");
    return `node:${p[0] === "deps" ? p[1] : p[0]}`;
  }
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(src|gen|bench)\/(.*)$/.exec(url);
  if (m) {
    const parts = m[2]!.split("/");
    return m[1] === "src" ? `src/${parts.length > 1 ? parts.slice(0, -1).join("/") : parts[0]}` : m[1]!;
  }
  return url;
}

/** Coarser than moduleOf: the layers a per-job cost can sit in. */
export function layerOf(mod: string): string {
  if (mod.startsWith("@connectrpc/")) return "connect-es / connect-node (RPC machinery)";
  if (mod === "@bufbuild/protobuf" || mod === "gen") return "protobuf-es (binary codec)";
  if (mod.startsWith("src/")) return `ojs-connect ${mod}`;
  if (mod === "zod") return "zod (validation)";
  if (mod === "(garbage collector)") return "GC";
  if (["node:abort_controller", "node:per_context", "node:event_target"].includes(mod)) return "AbortSignal / DOMException / EventTarget";
  if (
    ["node:modules", "tsx", "get-tsconfig", "node:cjs-module-lexer", "node:bootstrap", "node:worker", "node:fs", "node:url", "node:path"].includes(mod) ||
    mod.startsWith("wasm:")
  )
    return "module loading, tsx (startup)";
  if (mod.startsWith("node:")) return "node core (http2, streams, events, timers, Headers)";
  if (mod === "bullmq" || mod === "ioredis" || mod === "msgpackr") return mod;
  return "(native, program, other)";
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + 14);
  return url.replace(/^file:\/\/.*?\/(src|gen|bench)\//, "$1/");
}

const frameName = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`;

/** Self time charged to each node id (timeDeltas[i + 1] is the time spent at sample i). */
function selfTimes(p: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  return self;
}

export function callers(p: Profile, name: string, depth = 8, top = 8): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Inclusive time of each node: its own plus its descendants'.
  const incl = new Map<number, number>();
  for (const [id, t] of selfTimes(p)) for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) incl.set(cur, (incl.get(cur) ?? 0) + t);
  const paths = new Map<string, number>();
  for (const n of p.nodes) {
    if (n.callFrame.functionName !== name) continue;
    // Skip nodes nested inside another node of the same name (already counted there).
    let nested = false;
    for (let cur = parent.get(n.id); cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)!.callFrame.functionName === name) nested = true;
    if (nested) continue;
    const chain: string[] = [];
    for (let cur: number | undefined = n.id; cur !== undefined && chain.length < depth; cur = parent.get(cur)) chain.push(frameName(byId.get(cur)!));
    const key = chain.join("\n      <- ");
    paths.set(key, (paths.get(key) ?? 0) + (incl.get(n.id) ?? 0));
  }
  const sum = [...paths.values()].reduce((a, b) => a + b, 0);
  return [
    `${name}: ${(sum / 1000).toFixed(0)} ms inclusive; heaviest paths:`,
    ...[...paths.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`),
  ].join("\n");
}

export function summarise(p: Profile, top = 25): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = selfTimes(p);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
  const idle = [...idleIds].reduce((a, id) => a + (self.get(id) ?? 0), 0);
  const busy = total - idle;

  const fnSelf = new Map<string, number>();
  const modSelf = new Map<string, number>();
  const layerSelf = new Map<string, number>();
  const modIncl = new Map<string, number>();
  for (const [id, t] of self) {
    if (idleIds.has(id)) continue;
    const n = byId.get(id)!;
    const cf = n.callFrame;
    const key = frameName(n);
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const mod = moduleOf(cf.url, cf.functionName);
    modSelf.set(mod, (modSelf.get(mod) ?? 0) + t);
    const layer = layerOf(mod);
    layerSelf.set(layer, (layerSelf.get(layer) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur)!.callFrame;
      if (c.functionName === "(root)") continue;
      seen.add(moduleOf(c.url, c.functionName));
    }
    for (const m of seen) modIncl.set(m, (modIncl.get(m) ?? 0) + t);
  }
  // Our own functions, time on the stack (a function counted once per sample even when recursive).
  const oursIncl = new Map<string, number>();
  for (const [id, t] of self) {
    if (idleIds.has(id)) continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (/\/(src|gen)\//.test(n.callFrame.url) && !n.callFrame.url.includes("node_modules")) seen.add(frameName(n).replace(/:\d+$/, ""));
    }
    for (const k of seen) oursIncl.set(k, (oursIncl.get(k) ?? 0) + t);
  }
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
  const ms = (t: number) => `${(t / 1000).toFixed(0).padStart(6)} ms`;
  const table = (title: string, m: Map<string, number>, n: number) =>
    [
      title,
      ...[...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, t]) => `  ${pct(t)} ${ms(t)}  ${k}`),
    ].join("\n");
  const wall = (p.endTime - p.startTime) / 1000;
  return [
    `wall ${(wall / 1000).toFixed(2)} s, on CPU ${(busy / 1e6).toFixed(2)} s (${((busy / 1000 / wall) * 100).toFixed(0)} % of one core), idle ${(idle / 1e6).toFixed(2)} s; percentages are of CPU time`,
    table("self time by layer:", layerSelf, 12),
    table("self time by module:", modSelf, 16),
    table("on the stack (inclusive) by module:", modIncl, 16),
    table(`self time by function (top ${top}):`, fnSelf, top),
    table("our functions (src/, gen/), on the stack:", oursIncl, 20),
  ].join("\n\n");
}

/** The samples from the first to the last with one of `names` on the stack, less the first fifth. */
export function windowed(p: Profile, names: readonly string[]): Profile {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const want = new Set(p.nodes.filter((n) => names.includes(n.callFrame.functionName)).map((n) => n.id));
  const inside = new Map<number, boolean>();
  const hit = (id: number): boolean => {
    let v = inside.get(id);
    if (v === undefined) {
      const up = parent.get(id);
      v = want.has(id) || (up !== undefined && hit(up));
      inside.set(id, v);
    }
    return v;
  };
  let first = -1;
  let last = -1;
  for (let i = 0; i < p.samples.length; i++)
    if (hit(p.samples[i]!)) {
      if (first < 0) first = i;
      last = i;
    }
  if (first < 0) throw new Error(`no sample has ${names.join(" or ")} on its stack`);
  const from = first + Math.floor((last - first) / 5);
  const timeDeltas = p.timeDeltas.slice(from, last + 2);
  const startTime = p.startTime + p.timeDeltas.slice(0, from + 1).reduce((a, b) => a + b, 0);
  return { ...p, samples: p.samples.slice(from, last + 1), timeDeltas, startTime, endTime: startTime + timeDeltas.slice(1).reduce((a, b) => a + b, 0) };
}

const files = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const windowNames = process.argv
  .find((a) => a.startsWith("--window="))
  ?.slice(9)
  .split(",");
const top = Number(process.argv.find((a) => a.startsWith("--top="))?.slice(6) ?? 25);
const who = process.argv.find((a) => a.startsWith("--callers="))?.slice(10);
for (const f of files) {
  const whole = JSON.parse(readFileSync(f, "utf8")) as Profile;
  const p = windowNames ? windowed(whole, windowNames) : whole;
  console.log(`\n=== ${basename(f)} ===\n`);
  console.log(
    who
      ? who
          .split(",")
          .map((w) => callers(p, w))
          .join("\n\n")
      : summarise(p, top),
  );
}
