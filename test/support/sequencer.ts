/**
 * The order test files start in, longest expected first, so a run does not end
 * with one long file running alone while the other worker idles.
 *
 * Vitest orders by the durations of the previous run when it has them (its
 * results cache, node_modules/.vite/vitest), and that stays. Without them (a
 * fresh clone, CI, `--no-cache`) it orders by file size, which puts the
 * one-line wrappers last: `worker.postgres.test.ts` is 12 lines that import
 * the 360-line worker suite and run it on another store. Here such a file
 * weighs its own size plus that of the suites it imports, and the few files
 * whose time goes to other programs (RUN_FIRST) start before everything else.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files that run far longer than their size says, longest first (a run with
 * `--reporter=json` shows the durations: docs/testing-time.md). Ordered by weight,
 * the two 20-line files that run typedoc and the TypeScript compiler started
 * last, and ran for a minute side by side after everything else had ended.
 */
export const RUN_FIRST = [
  "test/e2e/cli.test.ts", // about 60 runs of the CLI binary
  "test/project/api-docs.test.ts", // typedoc over the whole package
  "test/project/api-report.test.ts", // a TypeScript program over the public API
  "test/e2e/cli-operate.test.ts",
  "test/e2e/cli-operate.postgres.test.ts",
  "test/e2e/examples.test.ts", // every example, each its own node process
  "test/postgres/kill.test.ts", // server processes started and killed
];

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
    const first = (f: TestSpecification) => {
      const i = RUN_FIRST.indexOf(relative(this.ctx.config.root, f.moduleId));
      return i < 0 ? 0 : RUN_FIRST.length - i;
    };
    // Listed files first in their order; the rest by weight. Sizes stay far below 2^32 bytes.
    const weights = new Map(files.map((f) => [f, first(f) * 2 ** 32 + expectedWeight(f.moduleId)]));
    return [...files].sort((a, b) => weights.get(b)! - weights.get(a)!);
  }
}
