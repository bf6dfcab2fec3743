// Workflows: a chain whose steps see earlier results, a group inside it, a batch with callbacks.
import { Client, Worker, chain, group, batch, step } from "ojs-connect";

const queue = `example-wf-${Date.now()}`;
const client = new Client();
const worker = new Worker({ queues: [queue], concurrency: 5, handleSignals: false });
worker.register("etl.extract", () => ({ rows: 3 }));
worker.register("etl.clean", (ctx) => ({ part: ctx.args[0], rows: ctx.parentResults["0"]?.rows }));
worker.register("etl.load", (ctx) => ({ loaded: Object.keys(ctx.parentResults).length }));
worker.register("import.row", (ctx) => ctx.args[0]);
worker.register("import.report", (ctx) => ({ parts: Object.keys(ctx.parentResults).length }));
void worker.start();

const etl = await client.workflow(
  chain("etl", [
    step("etl.extract", [], { queue }),
    group("clean", [step("etl.clean", [1], { queue }), step("etl.clean", [2], { queue })]),
    step("etl.load", [], { queue }),
  ]),
);
const imp = await client.workflow(
  batch("import", [step("import.row", [1], { queue }), step("import.row", [2], { queue })], { onComplete: step("import.report", [], { queue }) }),
);

for (const wf of [etl, imp]) {
  let w = wf;
  while (w.state === "running" || w.state === "pending") {
    await new Promise((r) => setTimeout(r, 50));
    w = await client.getWorkflow(wf.id);
  }
  console.log(`${w.name}: ${w.state}; steps ${w.steps.map((s) => `${s.id}=${s.state}`).join(", ")}`);
}
await worker.stop();
await client.close();
