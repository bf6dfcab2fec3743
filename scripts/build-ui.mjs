#!/usr/bin/env node
// Builds the web dashboard (ui/) into dist/ui: one minified ES module bundle
// with Preact and htm inside, one stylesheet, both named by content hash (the
// server lets browsers cache them for a year), and index.html naming them.
// Nothing is fetched at run time: no CDN, no fonts, no network.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const root = join(import.meta.dirname, "..");
const dest = join(root, "dist", "ui");
// --if-missing (tests that run alone): leave a dist/ui that is there, even one another process
// finished while this one built. Built in a directory of this process's own, then renamed into
// place, so two test files building at once never write into or remove each other's files.
const ifMissing = process.argv.includes("--if-missing");
if (ifMissing && existsSync(join(dest, "index.html"))) process.exit(0);
const out = `${dest}.tmp-${process.pid}`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(root, "ui", "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outdir: out,
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
  legalComments: "eof",
});
const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const js = files.find((f) => f.endsWith(".js"));
const css = files.find((f) => f.endsWith(".css"));
if (!js || !css) throw new Error(`build-ui: expected one .js and one .css output, got ${files.join(", ")}`);

const html = readFileSync(join(root, "ui", "index.html"), "utf8")
  .replace("%JS%", `./${js}`)
  .replace("%CSS%", `./${css}`);
writeFileSync(join(out, "index.html"), html);
copyFileSync(join(root, "ui", "favicon.svg"), join(out, "favicon.svg"));
// The bundle carries these packages' code: their licences ship beside it (not served).
const notices = ["preact", "htm", "croner"].map((name) => {
  const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
  return `${name} ${pkg.version} (${pkg.license})\n\n${readFileSync(join(root, "node_modules", name, "LICENSE"), "utf8").trim()}\n`;
});
writeFileSync(join(out, "THIRD-PARTY-LICENSES.txt"), notices.join("\n\n"));
if (!ifMissing) rmSync(dest, { recursive: true, force: true });
try {
  renameSync(out, dest);
} catch (e) {
  // Only with --if-missing can dist/ui be there now: another process built the same sources.
  rmSync(out, { recursive: true, force: true });
  if (!(ifMissing && existsSync(join(dest, "index.html")))) throw e;
}
console.log(`build-ui: dist/ui/${js} (${(readFileSync(join(dest, js)).length / 1024).toFixed(1)} KiB), ${css}`);
