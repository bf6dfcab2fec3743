#!/usr/bin/env node
// Thin launcher: the command-line interface lives in the compiled package.
// Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 server unreachable (see `ojs-connect --help`).
import("../dist/src/cli.js").then((m) => m.main(process.argv.slice(2))).then((code) => {
  process.exitCode = code;
}, (e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
