/**
 * Small modules with one job each: no hand-written file in src/ grows past
 * 500 lines. Generated code lives outside src/ (gen/), so every file here
 * counts. A file that must be longer goes in ALLOWED with the reason; none
 * does today.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const src = join(import.meta.dirname, "..", "..", "src");
const MAX_LINES = 500;

/** path under src/ -> why it may be longer. Keep empty if at all possible. */
const ALLOWED: ReadonlyMap<string, string> = new Map();

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

function lineCount(text: string): number {
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/** Every file of src/ over the limit, as "path: N lines", leaving out the allowed ones. */
function oversized(root: string): string[] {
  return files(root)
    .map((f) => ({ path: relative(root, f).split("\\").join("/"), lines: lineCount(readFileSync(f, "utf8")) }))
    .filter((f) => f.lines > MAX_LINES && !ALLOWED.has(f.path))
    .map((f) => `${f.path}: ${f.lines} lines`);
}

describe("module size", () => {
  it("counts lines the way wc -l does", () => {
    expect(lineCount("")).toBe(0);
    expect(lineCount("a\n")).toBe(1);
    expect(lineCount("a\nb")).toBe(2);
    expect(lineCount("a\n".repeat(501))).toBe(501);
  });

  it("sees every source file (sanity: the walk reaches the worker)", () => {
    const all = files(src).map((f) => relative(src, f).split("\\").join("/"));
    expect(all).toContain("worker/worker.ts");
    expect(all.length).toBeGreaterThan(100);
  });

  it(`no hand-written file in src/ is over ${MAX_LINES} lines`, () => {
    expect(oversized(src)).toEqual([]);
  });

  it("every allowed file still exists and still needs its exception", () => {
    for (const [path, reason] of ALLOWED) {
      expect(reason.length, path).toBeGreaterThan(0);
      expect(lineCount(readFileSync(join(src, path), "utf8")), path).toBeGreaterThan(MAX_LINES);
    }
  });
});
