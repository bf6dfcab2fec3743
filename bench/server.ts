/** The embedded OJS server in its own process. Answers "counts" (the store's own tally), "reset" and "stop". */
import { startServer } from "../src/server/index.js";
import { childSetup, send } from "./common.js";
import { serverCore } from "../src/server/internal.js";

childSetup();
// OJS_BENCH_DATA_DIR (set by bench/journal.ts): the durable journal store instead of the memory store.
const dataDir = process.env.OJS_BENCH_DATA_DIR;
const fsync = process.env.OJS_BENCH_FSYNC === "none" ? "none" : "always";
// --no-fast-path (the grpc-standard system): only the standard ojs.v1 methods, as any other ojs.v1 server.
const fastPath = !process.argv.includes("--no-fast-path");
const server = await startServer({ port: 0, fastPath, ...(dataDir ? { dataDir, fsync } : {}) });
process.on("message", (msg: { cmd: string; queue?: string }) => {
  if (msg.cmd === "counts") void send({ type: "result", data: serverCore(server).store.countByState(msg.queue) });
  if (msg.cmd === "reset") {
    server.reset();
    void send({ type: "result", data: {} });
  }
  if (msg.cmd === "stop") void server.close().then(() => process.exit(0));
});
await send({ type: "ready", url: server.url });
