/**
 * What a new user meets before running any code: the install leaves the lock
 * file alone, the packed tarball has no install script, its source maps carry
 * their sources, and trying the bench does not dirty the tree.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { benchOutDir } from "../../bench/out-dir.js";

const root = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string>; files: string[] };

describe("packaging", () => {
  it("npm install leaves package-lock.json as committed", () => {
    const dir = mkdtempSync(join(tmpdir(), "ojs-lock-"));
    try {
      copyFileSync(join(root, "package.json"), join(dir, "package.json"));
      copyFileSync(join(root, "package-lock.json"), join(dir, "package-lock.json"));
      // --package-lock-only: the same tree computation as a fresh `npm install`, from the cache, no network.
      execFileSync("npm", ["install", "--package-lock-only", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: dir, stdio: "pipe" });
      expect(readFileSync(join(dir, "package-lock.json"), "utf8")).toBe(readFileSync(join(root, "package-lock.json"), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("builds on pack, not on install (no install script for users of the tarball)", () => {
    expect(pkg.scripts.prepare).toBeUndefined();
    expect(pkg.scripts.install).toBeUndefined();
    expect(pkg.scripts.postinstall).toBeUndefined();
    expect(pkg.scripts.prepack).toMatch(/build/);
  });

  it("shipped source maps carry their sources (src/ is not in the package)", () => {
    expect(pkg.files.some((f) => f === "src" || f.startsWith("src/"))).toBe(false);
    const map = join(root, "dist", "src", "client", "client.js.map");
    if (!existsSync(map)) execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: root });
    const m = JSON.parse(readFileSync(map, "utf8")) as { sources: string[]; sourcesContent?: string[] };
    expect(m.sourcesContent?.length).toBe(m.sources.length);
    expect(m.sourcesContent?.[0]).toContain("export class Client");
  });

  it("CI runs the suite on a second Node line first, then `npm test` once on the system Node, last", () => {
    const ci = readFileSync(join(root, ".ci", "run"), "utf8");
    const commands = ci
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(commands.filter((l) => l === "npm test")).toHaveLength(1);
    expect(commands.at(-1)).toBe("npm test");
    expect(ci).toMatch(/npm install .*"node@\$other_major"/);
    expect(ci).toMatch(/PATH="\$other_bin:\$PATH" node scripts\/test\.mjs/);
    const engines = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(">=20.11");
  });

  it("npm run bench writes to a git-ignored directory unless --save", () => {
    const r = "/x/bench/results/";
    expect(benchOutDir(["--quick"], r)).toBe(`${r}local/`);
    expect(benchOutDir([], r)).toBe(`${r}local/`);
    expect(benchOutDir(["--save"], r)).toBe(r);
    expect(benchOutDir(["--quick", "--only=grpc"], r)).toBe(`${r}partial/`);
    expect(benchOutDir(["--profile"], r)).toBe(`${r}profiles/`);
    const ignored = execFileSync("git", ["check-ignore", "bench/results/local/latest.json", "bench/results/local/chart.svg", "docs/api/index.html"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(ignored.trim().split("\n")).toHaveLength(3);
  });
});
