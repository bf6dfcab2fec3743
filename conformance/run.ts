/**
 * npm run conformance -- <suites-dir> [--protocol http|grpc] [--only <id or name part>]
 *                                     [--concurrency N] [--tolerance PCT] [--verbose]
 *                                     [--store memory|journal|postgres ...]
 *
 * Runs every official conformance case under the directory against the
 * embedded server (a fresh one per case), over raw HTTP and through our gRPC
 * transport, and prints failing cases, a table per level and category, and a
 * last line such as "conformance: http 136/136, grpc 110/110 (12 not applicable)".
 * With several --store flags every case runs on each store, and the report comes once per store.
 * Exits 1 when a case fails unexpectedly (see conformance/lib/policy.ts).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { caseKey, loadCases } from "./lib/cases.js";
import { report } from "./lib/report.js";
import { closeStores, parseStoreKind } from "./lib/store.js";
import { isProblem, runSuite, type Protocol } from "./lib/suite.js";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      protocol: { type: "string", multiple: true },
      only: { type: "string", multiple: true },
      // Few at once: every case's server runs in this process, and some cases leave under a second
      // between steps (test/conformance/conformance.test.ts says what 64 did on a loaded machine).
      concurrency: { type: "string", default: "8" },
      tolerance: { type: "string", default: "50" },
      verbose: { type: "boolean", default: false },
      store: { type: "string", multiple: true },
    },
  });
  const dir = resolve(positionals[0] ?? "../shared/conformance/suites");
  if (!existsSync(dir)) {
    console.error(`no conformance suites at ${dir}`);
    process.exitCode = 2;
    return;
  }
  const stores = [...new Set((values.store?.length ? values.store : ["memory"]).map(parseStoreKind))];
  const protocols = (values.protocol?.length ? values.protocol : ["http", "grpc"]) as Protocol[];
  for (const p of protocols) if (p !== "http" && p !== "grpc") throw new Error(`--protocol: http or grpc, not ${p}`);
  let cases = loadCases(dir);
  if (values.only?.length) cases = cases.filter((c) => values.only!.some((o) => caseKey(c).includes(o)));
  const started = performance.now();
  let runs;
  try {
    runs = await runSuite(cases, {
      protocols,
      stores,
      concurrency: Number(values.concurrency) || 8,
      tolerancePct: Number(values.tolerance) || 50,
      onRun: values.verbose
        ? (r) => console.error(`${r.status.padEnd(15)} ${r.protocol} ${r.store} ${caseKey(r.c)} ${r.outcome ? `${r.outcome.durationMs} ms` : (r.reason ?? "")}`)
        : undefined,
    });
  } finally {
    await closeStores();
  }
  if (values.verbose) {
    for (const r of runs)
      for (const f of r.outcome?.failures ?? [])
        if (r.status !== "pass") console.error(`  ${r.protocol} ${r.store} ${caseKey(r.c)} [${f.step}] ${f.field}: ${f.message}`);
  }
  const seconds = (performance.now() - started) / 1000;
  for (const store of stores) {
    if (stores.length > 1) console.log(`\n== ${store} store`);
    console.log(
      report(
        runs.filter((r) => r.store === store),
        protocols,
        seconds,
      ),
    );
  }
  process.exitCode = runs.some(isProblem) ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 2;
});
