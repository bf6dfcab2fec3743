/**
 * The order test files start in, longest expected first, so a run does not end
 * with one long file running alone while the other worker idles.
 *
 * Vitest orders by the durations of the previous run when it has them (its
 * results cache, node_modules/.vite/vitest), and that stays. Without them (a
 * fresh clone, CI, `--no-cache`) it orders by file size, which puts the
 * one-line wrappers last: `worker.postgres.test.ts` is 12 lines that import
 * the 360-line worker suite and run it on another store. Here such a file
 * weighs its own size plus that of the suites it imports.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** `await import("./worker.test.js")` in a wrapper file. */
const SUITE_IMPORT = /await import\("(\.\/[^"]+\.test)\.js"\)/g;

/** A file's size in bytes, plus the sizes of the test suites it imports. */
export function expectedWeight(file: string): number {
  const text = readFileSync(file, "utf8");
  let weight = Buffer.byteLength(text);
  for (const m of text.matchAll(SUITE_IMPORT)) {
    try {
      weight += statSync(join(dirname(file), `${m[1]}.ts`)).size;
    } catch {
      // A suite that does not exist fails the file itself, with a clearer message than here.
    }
  }
  return weight;
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const key = (f: TestSpecification) => `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`;
    if (files.every((f) => this.ctx.cache.getFileTestResults(key(f)) !== undefined)) return super.sort(files);
    const weights = new Map(files.map((f) => [f, expectedWeight(f.moduleId)]));
    return [...files].sort((a, b) => weights.get(b)! - weights.get(a)!);
  }
}
