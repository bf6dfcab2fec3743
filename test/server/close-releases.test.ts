/**
 * A closed server lets go of its state at once: nothing it leaves behind (the
 * unref'd timer that cuts streams still open after a moment) may hold the core
 * and its store, or a server started right after on a large journal would run
 * its start-up beside the whole old heap (bench/journal-restart.ts did).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { startServer } from "../../src/server/index.js";
import { serverCore } from "../../src/server/internal.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

it("holds no reference to its core once close() has resolved", async () => {
  let ref: WeakRef<object> | undefined;
  await (async () => {
    const server = await startServer({ port: 0 });
    ref = new WeakRef(serverCore(server));
    await server.close();
  })();
  // A few turns of the loop for anything queued by close() to run; well below the 200 ms of the stream-cutting timer.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  gc();
  expect(ref!.deref()).toBeUndefined();
});
