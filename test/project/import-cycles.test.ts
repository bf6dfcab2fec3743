/**
 * No import cycles between files of src/, and the folder layering the README
 * describes holds: worker/ never reaches into client/. A tiny walker over the
 * relative import specifiers, no dependency.
 *
 * A cycle of values (an import that runs code) is never allowed. A cycle made
 * only of `import type` lines costs nothing at run time but still ties two files
 * together; the few left (KNOWN_TYPE_CYCLES) go with the splits of the store and
 * the worker, and no new one may be added.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const src = join(root, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

const IMPORT_RE = /(?:^|\n)\s*(import|export)(\s+type)?\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/**
 * The graph of src/: file -> files of src/ it imports (relative specifiers only).
 * With `values`, only the imports that load code: `import type` lines are left out.
 */
function importGraph(values: boolean): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, "utf8");
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      if (values && m[2]) continue;
      const spec = m[3] ?? m[4];
      if (!spec?.startsWith(".")) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
      if (target.startsWith(src)) deps.push(relative(src, target));
    }
    graph.set(relative(src, file), deps);
  }
  return graph;
}

/** Type-only cycles that predate this test; each goes with a split of its big file. Never add one. */
const KNOWN_TYPE_CYCLES = new Set([
  "server/store/store.ts -> server/store/changes.ts -> server/store/store.ts",
  "server/core.ts -> server/store/journal/journal.ts -> server/core.ts",
  "server/core.ts -> server/store/journal/journal.ts -> server/store/journal/replay.ts -> server/core.ts",
  "server/core.ts -> server/store/journal/journal.ts -> server/store/journal/snapshot.ts -> server/core.ts",
]);

/** Every cycle found by a depth-first walk, each as the list of files around it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("source layout", () => {
  const graph = importGraph(false);

  it("the walker sees the imports (sanity: it finds a planted cycle)", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get("index.ts")?.length).toBeGreaterThan(0);
    const planted = new Map(graph);
    planted.set("model/json.ts", [...(planted.get("model/json.ts") ?? []), "model/job.ts"]);
    planted.set("model/job.ts", [...(planted.get("model/job.ts") ?? []), "model/json.ts"]);
    expect(findCycles(planted).length).toBeGreaterThan(0);
  });

  it("has no import cycle of values between files of src/", () => {
    expect(findCycles(importGraph(true)).map((c) => c.join(" -> "))).toEqual([]);
  });

  it("has no type-only import cycle besides the known ones", () => {
    expect(
      findCycles(graph)
        .map((c) => c.join(" -> "))
        .filter((c) => !KNOWN_TYPE_CYCLES.has(c)),
    ).toEqual([]);
  });

  it("worker/ does not import client/ (both sit on transport/)", () => {
    const offending = [...graph].filter(([f, deps]) => f.startsWith("worker/") && deps.some((d) => d.startsWith("client/")));
    expect(offending.map(([f]) => f)).toEqual([]);
  });
});
