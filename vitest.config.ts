import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./test/support/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    // A net for hangs, not a speed check: CPU-bound tests (property tests, fuzzers, buf generate)
    // took 11-17 s of the former 20 s in a full run beside two busy cores, and would take twice that
    // on a machine twice as loaded. Tests that wait on the clock set their own, tighter limits.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every e2e file starts its own server on a free port, so files may run in parallel.
    fileParallelism: true,
    // Two at a time even on two cores: the conformance file spends two minutes mostly
    // waiting (the cron cases sleep past minute boundaries), and the rest runs beside it.
    maxWorkers: 2,
    // Longest files first, also in a fresh clone where vitest has no durations yet (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
