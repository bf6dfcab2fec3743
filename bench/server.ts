/** The embedded OJS server in its own process. Answers "counts" (the store's own tally), "reset" and "stop". */
import { startServer } from "../src/server/index.js";
import { childSetup, send } from "./common.js";
import { serverCore } from "../src/server/internal.js";

childSetup();
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
// --data-dir (the ojs-journal system) or OJS_BENCH_DATA_DIR (bench/journal.ts): the durable journal store.
const dataDir = arg("data-dir") ?? process.env.OJS_BENCH_DATA_DIR;
const fsync = process.env.OJS_BENCH_FSYNC === "none" ? "none" : "always";
// --store=postgres://... (the ojs-postgres system): the PostgreSQL store.
const store = arg("store");
// --no-fast-path (the grpc-standard system): only the standard ojs.v1 methods, as any other ojs.v1 server.
const fastPath = !process.argv.includes("--no-fast-path");
const server = await startServer({ port: 0, fastPath, ...(dataDir ? { dataDir, fsync } : {}), ...(store ? { store } : {}) });
process.on("message", (msg: { cmd: string; queue?: string }) => {
  if (msg.cmd === "counts")
    void serverCore(server)
      .jobs.countByState(msg.queue)
      .then(
        (data) => send({ type: "result", data }),
        (e: unknown) => send({ type: "error", message: String(e) }),
      );
  if (msg.cmd === "reset") {
    // The in-process state (and the journal); a PostgreSQL store keeps its rows (each scenario has its own queue).
    server.reset();
    void send({ type: "result", data: {} });
  }
  if (msg.cmd === "stop") void server.close().then(() => process.exit(0));
});
await send({ type: "ready", url: server.url });
