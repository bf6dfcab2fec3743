/**
 * Restored jobs without meta, tags or errors share one frozen empty object of
 * each (journal/revive.ts): a start-up of a million jobs makes three million
 * fewer objects. What must hold: a failure recorded on one such job (a nack, a
 * lease running out) is that job's alone, before and after another restart,
 * and the shared empties stay empty.
 */
import { expect, it } from "vitest";
import { ServerCore } from "../../src/server/core.js";
import { Journal } from "../../src/server/store/journal/journal.js";
import { NO_ERRORS, NO_META, NO_TAGS } from "../../src/server/store/journal/revive.js";
import { FakeClock } from "./fake-clock.js";
import { failTwoAndCheck } from "./shared-empties-check.js";
import { useTempDirs } from "../support/temp-dirs.js";

const tempDir = useTempDirs("ojs-journal-empties-");

async function open(dir: string, clock: FakeClock) {
  const core = new ServerCore({ clock });
  core.journal = await Journal.open(core, { dir, log: () => {} });
  return core;
}

async function close(core: ServerCore): Promise<void> {
  await core.journal!.close();
  core.close();
}

it("a failure on one restored job leaves the others' errors (and the shared empties) empty", async () => {
  const dir = tempDir();
  const clock = new FakeClock(Date.UTC(2026, 5, 1));
  let core = await open(dir, clock);
  const ids = [0, 1, 2, 3].map((i) => core.store.enqueue({ type: "e.job", args: [i], queue: "q", priority: 3 - i }).id);
  await core.durable();
  await close(core);

  core = await open(dir, clock);
  const job = (id: string) => core.store.peek(id)!.job;
  expect(job(ids[0]!).errors).toBe(job(ids[1]!).errors);
  expect(job(ids[0]!).meta).toBe(job(ids[1]!).meta);
  expect(job(ids[0]!).tags).toBe(job(ids[1]!).tags);
  expect(() => (job(ids[0]!).errors as unknown[]).push(1)).toThrow(TypeError);

  // One job fails by a nack, another by its lease running out; the other two never ran.
  failTwoAndCheck(core, clock, ids);
  await core.durable();
  await close(core);

  core = await open(dir, clock);
  expect(job(ids[0]!).errors.map((e) => e.code)).toEqual(["boom"]);
  expect(job(ids[1]!).errors.map((e) => e.code)).toEqual(["visibility_timeout"]);
  for (const id of ids.slice(2)) expect(job(id).errors).toEqual([]);
  await close(core);
});
