/**
 * The files test/support/sequencer.ts starts first exist: a renamed one would
 * silently fall back to its size's place (usually last, the tiny ones).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { RUN_FIRST } from "../support/sequencer.js";

const root = join(import.meta.dirname, "..", "..");

it("every file the sequencer starts first exists", () => {
  expect(RUN_FIRST.filter((f) => !existsSync(join(root, f)))).toEqual([]);
});
