import { parseArgs } from "node:util";
import { startServer } from "./server/server.js";

const USAGE = `Usage: ojs-connect serve [--port 8080] [--host 127.0.0.1] [--visibility-timeout-ms 30000]
                         [--data DIR [--fsync always|none]]

Starts the embedded OJS server: gRPC, Connect and the OJS HTTP/JSON binding on one port.
With --data, jobs are kept in a journal in DIR and survive a crash (docs/stores.md);
--fsync none survives a process crash but not a power loss. Without it, state is in memory.`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== "serve") {
    console.log(USAGE);
    if (command && command !== "--help" && command !== "-h") process.exitCode = 2;
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      port: { type: "string", default: process.env.PORT ?? "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "visibility-timeout-ms": { type: "string" },
      data: { type: "string" },
      fsync: { type: "string" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  const vis = values["visibility-timeout-ms"] === undefined ? undefined : Number(values["visibility-timeout-ms"]);
  if (vis !== undefined && !(vis > 0)) throw new Error(`--visibility-timeout-ms: must be a positive number`);
  if (values.fsync !== undefined && values.fsync !== "always" && values.fsync !== "none") throw new Error(`--fsync: must be "always" or "none"`);
  if (values.fsync !== undefined && values.data === undefined) throw new Error(`--fsync: needs --data DIR`);
  const durable = values.data !== undefined ? { dataDir: values.data, fsync: (values.fsync ?? "always") as "always" | "none" } : {};
  const server = await startServer({ port, host: values.host, ...(vis !== undefined ? { visibilityTimeoutMs: vis } : {}), ...durable });
  console.log(`ojs-connect server listening on ${server.url} (gRPC, Connect and HTTP/JSON)`);
  if (values.data !== undefined) console.log(`durable store: journal in ${values.data} (fsync ${durable.fsync})`);
  const stop = () => {
    console.log("shutting down");
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
