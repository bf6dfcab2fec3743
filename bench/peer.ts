/**
 * npm run bench:peer -- --grpc http://127.0.0.1:P --http http://127.0.0.1:Q [--quick] [--out FILE]
 *
 * Our SDK against an ojs.v1 server that is already running (an official Go
 * backend, or `ojs-connect serve --no-fast-path`): the gRPC transport against
 * the HTTP transport, with a plain connect-node client as reference
 * (bench/peer-run.ts). Writes FILE (JSON, default
 * bench/results/local/peer.json) and the markdown table beside it (FILE with
 * .md), and prints the table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { peerMarkdown } from "./peer-report.js";
import { peerSizes, runPeer } from "./peer-run.js";
import { installExitHandlers } from "./procs.js";

const USAGE = "usage: npm run bench:peer -- --grpc http://HOST:PORT --http http://HOST:PORT [--quick] [--out FILE.json]";
const log = (s: string) => console.error(`[bench:peer] ${s}`);

function url(flag: string, v: string | undefined): string {
  if (!v) throw new Error(`--${flag} is required\n${USAGE}`);
  const u = URL.canParse(v) ? new URL(v) : undefined;
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) throw new Error(`--${flag}: not an http(s) URL: ${v}\n${USAGE}`);
  return v.replace(/\/$/, "");
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: { grpc: { type: "string" }, http: { type: "string" }, quick: { type: "boolean" }, out: { type: "string" } },
    strict: true,
  });
  const quick = values.quick ?? false;
  const out = values.out ?? fileURLToPath(new URL("./results/local/peer.json", import.meta.url));
  installExitHandlers();
  const r = await runPeer({
    grpc: url("grpc", values.grpc),
    http: url("http", values.http),
    sizes: peerSizes(quick),
    mode: quick ? "quick" : "full",
    command: `npm run bench:peer -- ${argv.join(" ")}`,
    timeoutMs: quick ? 60_000 : 300_000,
    log,
  });
  const md = peerMarkdown(r);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(r, null, 2) + "\n");
  const mdFile = out.replace(/\.json$/, "") + ".md";
  writeFileSync(mdFile, md);
  process.stdout.write(md);
  log(`done in ${r.durationSec} s: ${out}, ${mdFile}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
