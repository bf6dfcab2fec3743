/**
 * The API reference (npm run docs) builds from the TSDoc comments with no
 * warning: typedoc.json turns validation.notDocumented warnings into errors, so
 * an exported class, interface, type, function, constant or method without a
 * comment fails here.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

it("every public export is documented (typedoc --treatWarningsAsErrors)", async () => {
  const r = await run(join(root, "node_modules", ".bin", "typedoc"), ["--emit", "none"], { cwd: root, timeout: 120_000 }).catch(
    (e: { stdout: string; stderr: string }) => {
      throw new Error(`typedoc failed:\n${e.stdout}\n${e.stderr}`);
    },
  );
  expect(r.stdout + r.stderr).not.toMatch(/warning/i);
}, 150_000);
