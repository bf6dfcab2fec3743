/**
 * Temporary directories for one test file: `const tempDir = useTempDirs("ojs-x-")`
 * makes a fresh directory per call under the OS temp dir, and every one made
 * during a test is removed after it (vitest afterEach of the calling file).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

export function useTempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
