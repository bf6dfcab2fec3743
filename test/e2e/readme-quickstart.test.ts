/**
 * The README's Quick Start, taken from README.md as written, runs as a plain
 * .mjs file importing the built package, prints the finished job, and exits by
 * itself (a worker reconnecting forever, or a timer left behind, would hang it).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

/** The first ```js block after the "## Quick start" heading. */
export function quickStartBlock(readme: string): string {
  const at = readme.indexOf("## Quick start");
  if (at < 0) throw new Error('README.md has no "## Quick start" section');
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error("the Quick start section has no ```js block");
  return m[1]!;
}

/** The environment of a new user: none of the OJS_* variables the test run may set. */
function withoutOjsVars(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OJS_")));
}

describe("README Quick Start", () => {
  // A project of its own, with ojs-connect installed the way npm links a local package.
  const project = mkdtempSync(join(tmpdir(), "ojs-quickstart-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(root, join(project, "node_modules", "ojs-connect"), "dir");
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("is plain JavaScript that any supported Node parses (no `await using`)", () => {
    const code = quickStartBlock(readFileSync(join(root, "README.md"), "utf8"));
    expect(code).not.toMatch(/await using/);
    expect(code).toMatch(/from "ojs-connect"/);
  });

  it("runs as written with node, prints the completed job and exits 0 by itself", async () => {
    const file = join(project, "quickstart.mjs");
    writeFileSync(file, quickStartBlock(readFileSync(join(root, "README.md"), "utf8")));
    // The bound is for a hang (the failure this test exists for), not a speed target.
    const r = await run(process.execPath, [file], { cwd: project, timeout: 30_000, env: withoutOjsVars() }).catch(
      (e: { code?: number; killed?: boolean; stdout?: string; stderr?: string }) => {
        throw new Error(`quickstart.mjs ${e.killed ? "did not exit within 30 s" : `exited with ${e.code}`}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`);
      },
    );
    expect(r.stdout).toMatch(/^completed \{ sent: true, messageId: /);
    // A clean run has nothing to report: no connection or handler lines from the default logger.
    expect(r.stderr).toBe("");
  }, 40_000);

  it("the TypeScript form the README describes type-checks (strict) and runs with tsx", async () => {
    const js = quickStartBlock(readFileSync(join(root, "README.md"), "utf8"));
    // Exactly the two edits the README names.
    const ts = js
      .replace("async function sendEmail(to, signal)", "async function sendEmail(to: string, signal: AbortSignal)")
      .replace("ctx.args[0],", "ctx.args[0] as string,");
    expect(ts).not.toBe(js);
    const file = join(project, "quickstart.ts");
    writeFileSync(file, ts);
    writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
    const bin = (name: string) => join(root, "node_modules", ".bin", name);
    const flags = [
      "--noEmit",
      "--strict",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--types",
      "node",
      "--typeRoots",
      join(root, "node_modules", "@types"),
      "--skipLibCheck",
    ];
    await run(bin("tsc"), [...flags, file], { cwd: project, timeout: 60_000 }).catch((e: { stdout?: string }) => {
      throw new Error(`the TypeScript form does not type-check:\n${e.stdout}`);
    });
    const r = await run(bin("tsx"), [file], { cwd: project, timeout: 30_000, env: withoutOjsVars() });
    expect(r.stdout).toMatch(/^completed \{ sent: true/);
  }, 90_000);
});
