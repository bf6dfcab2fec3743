import { parseArgs } from "node:util";
import { startServer } from "./server/server.js";
import { waitCommand, WAIT_USAGE } from "./cli/wait.js";

const USAGE = `Usage: ojs-connect serve [--port 8080] [--host 127.0.0.1] [--visibility-timeout-ms 30000]

Starts the embedded OJS server: gRPC, Connect and the OJS HTTP/JSON binding on one port.

${WAIT_USAGE}`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === "wait") {
    process.exitCode = await waitCommand(rest);
    return;
  }
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
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  const vis = values["visibility-timeout-ms"] === undefined ? undefined : Number(values["visibility-timeout-ms"]);
  if (vis !== undefined && !(vis > 0)) throw new Error(`--visibility-timeout-ms: must be a positive number`);
  const server = await startServer({ port, host: values.host, ...(vis !== undefined ? { visibilityTimeoutMs: vis } : {}) });
  console.log(`ojs-connect server listening on ${server.url} (gRPC, Connect and HTTP/JSON)`);
  const stop = () => {
    console.log("shutting down");
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
