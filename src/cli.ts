import { parseArgs } from "node:util";
import type { AuthOptions } from "./server/auth/keys.js";
import { startServer, type ServerOptions } from "./server/server.js";
import { waitCommand, WAIT_USAGE } from "./cli/wait.js";

const USAGE = `Usage: ojs-connect serve [options]

Starts the embedded OJS server: gRPC, Connect and the OJS HTTP/JSON binding on one port.

${WAIT_USAGE}`;

const SERVE_HELP = `Usage: ojs-connect serve [options]

Starts the embedded OJS server: gRPC, Connect and the OJS HTTP/JSON binding on one port.

Options:
  --port N                   Port to listen on (default 8080, or PORT)
  --host ADDR                Address to listen on (default 127.0.0.1). Any other
                             address needs auth (below) or --insecure.
  --visibility-timeout-ms N  Reservation of a fetched job (default 30000)
  --data DIR                 Keep jobs in a journal in DIR: they survive a crash and a
                             restart (docs/stores.md). Without it, state is in memory.
  --fsync always|none        With --data: "always" (default) survives a power loss;
                             "none" survives a process crash, not a power loss

Authentication (README "Running in production"):
  --auth-token TOKEN         One admin token (default OJS_SERVER_TOKEN). Clients send it
                             as Authorization: Bearer TOKEN (auth: { token } / OJS_AUTH_TOKEN).
  --auth-file FILE           JSON file of keys with roles (admin, producer, worker, readonly)
                             and client-certificate rules (default OJS_SERVER_AUTH_FILE)
  --public-metrics           Let /metrics answer without credentials

TLS (gRPC, Connect and HTTP/JSON over TLS with ALPN h2 and http/1.1 on the same port):
  --tls-cert FILE            Server certificate chain (PEM)
  --tls-key FILE             Its private key (PEM)
  --tls-ca FILE              CA for client certificates: every client must present one (mTLS)

Network:
  --insecure                 Allow listening beyond loopback without auth (only behind
                             something else that checks callers)
  --allowed-host NAME        Host name accepted besides loopback names (repeatable)
  --allowed-origin ORIGIN    Browser origin accepted for cross-origin requests, with CORS
                             (repeatable), e.g. https://dash.example.com

  -h, --help                 This text`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
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
  const opts = serveOptions(rest, env);
  if (opts === "help") {
    console.log(SERVE_HELP);
    return;
  }
  const server = await startServer(opts);
  const guard = opts.auth ? "auth on" : opts.tls?.caFile ? "client certificates required" : "no auth";
  console.log(`ojs-connect server listening on ${server.url} (gRPC, Connect and HTTP/JSON; ${opts.tls ? "TLS" : "cleartext"}, ${guard})`);
  if (opts.dataDir !== undefined) console.log(`durable store: journal in ${opts.dataDir} (fsync ${opts.fsync})`);
  const stop = () => {
    console.log("shutting down");
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** The startServer options `serve` arguments (and OJS_SERVER_* variables) ask for; errors name the flag. */
export function serveOptions(args: string[], env: NodeJS.ProcessEnv = process.env): ServerOptions | "help" {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: env.PORT ?? "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "visibility-timeout-ms": { type: "string" },
      data: { type: "string" },
      fsync: { type: "string" },
      "auth-token": { type: "string" },
      "auth-file": { type: "string" },
      "public-metrics": { type: "boolean" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-ca": { type: "string" },
      insecure: { type: "boolean" },
      "allowed-host": { type: "string", multiple: true },
      "allowed-origin": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  const vis = values["visibility-timeout-ms"] === undefined ? undefined : Number(values["visibility-timeout-ms"]);
  if (vis !== undefined && !(vis > 0)) throw new Error(`--visibility-timeout-ms: must be a positive number`);
  const opts: ServerOptions = { port, host: values.host };
  if (vis !== undefined) opts.visibilityTimeoutMs = vis;
  if (values.fsync !== undefined && values.fsync !== "always" && values.fsync !== "none") throw new Error(`--fsync: must be "always" or "none"`);
  if (values.fsync !== undefined && values.data === undefined) throw new Error(`--fsync: needs --data DIR`);
  if (values.data !== undefined) {
    opts.dataDir = values.data;
    opts.fsync = (values.fsync ?? "always") as "always" | "none";
  }

  const token = values["auth-token"] ?? (env.OJS_SERVER_TOKEN || undefined);
  const file = values["auth-file"] ?? (env.OJS_SERVER_AUTH_FILE || undefined);
  if (values["auth-token"] === "") throw new Error("--auth-token: the token is empty");
  if (token !== undefined || file !== undefined) {
    const auth: AuthOptions = {};
    if (token !== undefined) auth.token = token;
    if (file !== undefined) auth.file = file;
    if (values["public-metrics"]) auth.publicMetrics = true;
    opts.auth = auth;
  } else if (values["public-metrics"]) {
    throw new Error("--public-metrics: only means something with --auth-token or --auth-file");
  }

  const cert = values["tls-cert"];
  const key = values["tls-key"];
  const ca = values["tls-ca"];
  if ((cert === undefined) !== (key === undefined)) throw new Error("--tls-cert and --tls-key: give both");
  if (ca !== undefined && cert === undefined) throw new Error("--tls-ca: needs --tls-cert and --tls-key");
  if (cert !== undefined && key !== undefined) opts.tls = { certFile: cert, keyFile: key, ...(ca !== undefined ? { caFile: ca } : {}) };

  if (values.insecure) opts.allowInsecure = true;
  if (values["allowed-host"]) opts.allowedHosts = values["allowed-host"];
  if (values["allowed-origin"]) opts.allowedOrigins = values["allowed-origin"];
  return opts;
}
