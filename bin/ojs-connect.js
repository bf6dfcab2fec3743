#!/usr/bin/env node
// Thin launcher: the command-line interface lives in the compiled package.
import("../dist/src/cli.js").then((m) => m.main(process.argv.slice(2))).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
