/** A scenario process: opens a driver, runs one scenario, reports the result to the orchestrator. */
import { runChild, type ChildSpec } from "./common.js";
import { openDriver } from "./drivers/index.js";
import { enqueue } from "./scenarios/enqueue.js";
import { latency } from "./scenarios/latency.js";
import { produce } from "./scenarios/produce.js";
import { reclaim } from "./scenarios/reclaim.js";
import { rss } from "./scenarios/rss.js";
import { throughput } from "./scenarios/throughput.js";

const scenarios = { latency, throughput, enqueue, rss, produce, reclaim };

await runChild(async () => {
  const spec = JSON.parse(process.argv[2]!) as ChildSpec;
  const driver = await openDriver(spec);
  try {
    return await scenarios[spec.scenario](driver, spec);
  } finally {
    await driver.close();
  }
});
