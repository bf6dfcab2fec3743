import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Every e2e file starts its own server on a free port, so files may run in parallel.
    fileParallelism: true,
    // Two at a time even on two cores: the conformance file spends two minutes mostly
    // waiting (the cron cases sleep past minute boundaries), and the rest runs beside it.
    maxWorkers: 2,
  },
});
