/** A store with a fake clock and helpers to enqueue and take jobs: the state-machine tests' common start. */
import type { OjsEvent } from "../../src/model/events.js";
import type { NormalizedJobRequest } from "../../src/model/job.js";
import { Store, type JobRecord, type StoreOptions } from "../../src/server/store/store.js";
import { FakeClock } from "./fake-clock.js";

export function setup(opts: StoreOptions = {}) {
  const clock = new FakeClock();
  const store = new Store({ clock, random: () => 0.5, ...opts });
  const events: OjsEvent[] = [];
  store.events.subscribe((e) => events.push(e));
  const job = (over: Partial<NormalizedJobRequest> = {}) => store.enqueue({ type: "t.x", args: [], queue: "q", ...over });
  const take = (queue = "q", workerId = "w1", visibilityTimeoutMs?: number): JobRecord => {
    const [rec] = store.fetch({ queues: [queue], workerId, ...(visibilityTimeoutMs ? { visibilityTimeoutMs } : {}) });
    if (!rec) throw new Error(`nothing to fetch from ${queue}`);
    return rec;
  };
  return { clock, store, events, job, take, types: () => events.map((e) => e.type) };
}
