/**
 * Every flag of `ojs-connect serve`, one entry each: its spelling, its help
 * line and section, the environment variable it falls back to, and how it
 * lands in startServer's options. Adding a server option to the CLI is one
 * entry here; `serve --help`, parsing and the env fallback follow from it.
 */
import { Command, Option } from "commander";
import type { ServerOptions } from "../server/server.js";
import { codecServerOrigin } from "../server/http/ui-options.js";
import type { SchemaValidationMode } from "../server/store/schemas.js";
import { DEFAULT_LIMITS, type Limits } from "../model/limits.js";

type FlagValue = string | boolean | string[];

export interface ServeFlag {
  /** As commander spells it: "--port <n>", "--insecure", "--no-ui". */
  flags: string;
  help: string;
  /** Heading of its section in `serve --help`. */
  group: string;
  /** Read when the flag is absent (an empty variable counts as absent). */
  env?: string;
  /** Shown in help and used when neither the flag nor `env` gives a value. */
  default?: string;
  /** May be given several times; the value is the list. */
  repeatable?: boolean;
  /** Only these values (shown in help, checked by the parser). */
  choices?: string[];
  /** Writes the value into the options; throws an Error naming the flag when the value is wrong. */
  apply(o: ServerOptions, value: FlagValue): void;
}

const SERVER = "Server:";
const AUTH = 'Authentication (README "Running in production"):';
const TLS = "TLS (gRPC, Connect and HTTP/JSON over TLS with ALPN h2 and http/1.1 on the same port):";
const NETWORK = "Network:";
const TESTING = "Testing:";
const STORAGE = "Storage (docs/stores.md):";
const LIMITS = "Limits on what a request may carry (docs/limits.md):";
const CONNECTIONS = "Connections and streams (docs/connections.md):";

/** The reservation the spec gives a fetched job (WP visibility_timeout 1800 s), used by --conformance. */
export const SPEC_VISIBILITY_TIMEOUT_MS = 1_800_000;

function count(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: FlagValue) => number {
  return (v) => {
    const n = Number(v);
    if (typeof v !== "string" || v.trim() === "" || !Number.isInteger(n) || n < min || n > max)
      throw new Error(`${flag}: must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up"}, got ${String(v)}`);
    return n;
  };
}

const tls = (o: ServerOptions) => (o.tls ??= {});
const auth = (o: ServerOptions) => (o.auth ??= {});

export const SERVE_FLAGS: ServeFlag[] = [
  {
    flags: "--port <n>",
    help: "port to listen on (0 picks a free one)",
    group: SERVER,
    env: "PORT",
    default: "8080",
    apply: (o, v) => (o.port = count("--port", 0, 65535)(v)),
  },
  {
    flags: "--host <addr>",
    help: "address to listen on; any other than loopback needs auth (below) or --insecure",
    group: SERVER,
    default: "127.0.0.1",
    apply: (o, v) => (o.host = String(v)),
  },
  {
    flags: "--visibility-timeout-ms <n>",
    help: "reservation of a fetched job when neither job nor worker sets one (default 30000)",
    group: SERVER,
    apply: (o, v) => (o.visibilityTimeoutMs = count("--visibility-timeout-ms", 1)(v)),
  },
  {
    flags: "--max-body-bytes <n>",
    help: "old name of --max-message-bytes",
    group: SERVER,
    apply: (o, v) => (o.maxBodyBytes = count("--max-body-bytes", 1)(v)),
  },
  {
    flags: "--max-finished-jobs <n>",
    help: "finished jobs kept readable (default 100000)",
    group: SERVER,
    apply: (o, v) => (o.maxFinishedJobs = count("--max-finished-jobs", 1)(v)),
  },
  {
    flags: "--max-dead-letter <n>",
    help: "dead-letter capacity (default 10000)",
    group: SERVER,
    apply: (o, v) => (o.maxDeadLetter = count("--max-dead-letter", 1)(v)),
  },
  {
    flags: "--schema-validation <mode>",
    help: "check enqueued args against registered schemas (default warn)",
    group: SERVER,
    choices: ["off", "warn", "strict"],
    apply: (o, v) => (o.schemaValidation = v as SchemaValidationMode),
  },

  {
    flags: "--no-fast-path",
    help: "offer only the standard ojs.v1 gRPC methods, without ojs-connect's pipelined fast path",
    group: SERVER,
    apply: (o, v) => (o.fastPath = v === true),
  },
  { flags: "--no-ui", help: "do not serve the web dashboard at /ui/ (served by default)", group: SERVER, apply: (o, v) => (o.ui = v === true) },
  {
    flags: "--ui-codec-server <url>",
    help: "let the dashboard call this Codec Server to show encoded payloads decoded (its origin joins the page's CSP connect-src)",
    group: SERVER,
    env: "OJS_UI_CODEC_SERVER",
    apply: (o, v) => {
      if (o.ui === false) throw new Error("--ui-codec-server: the dashboard is off (--no-ui)");
      try {
        codecServerOrigin(String(v));
      } catch (e) {
        throw new Error(`--ui-codec-server: ${(e as Error).message.replace(/^ui\.codecServer: /, "")}`, { cause: e });
      }
      o.ui = { ...(typeof o.ui === "object" ? o.ui : {}), codecServer: String(v) };
    },
  },

  {
    flags: "--data <dir>",
    help: "keep jobs in a journal in DIR: every acknowledged enqueue, ack and nack survives a crash and a restart (default: memory only)",
    group: STORAGE,
    env: "OJS_DATA_DIR",
    apply: (o, v) => (o.dataDir = String(v)),
  },
  {
    flags: "--store <url>",
    help: "keep jobs in PostgreSQL (postgres://user@host/db): several servers share one database; the schema is created on start",
    group: STORAGE,
    env: "OJS_STORE",
    apply: (o, v) => (o.store = String(v)),
  },
  {
    flags: "--fsync <mode>",
    help: "with --data: always (default) survives a power loss; none survives a process crash, not a power loss",
    group: STORAGE,
    choices: ["always", "none"],
    apply: (o, v) => {
      if (o.dataDir === undefined) throw new Error("--fsync: needs --data DIR");
      o.fsync = v as "always" | "none";
    },
  },

  ...limitFlag("--max-depth <n>", "maxDepth", "deepest nesting of a JSON value (args, meta, result)"),
  ...limitFlag("--max-message-bytes <n>", "maxMessageBytes", "largest request message, HTTP body or gRPC message"),
  ...limitFlag("--max-args-bytes <n>", "maxArgsBytes", "largest args of one job, as JSON"),
  ...limitFlag("--max-meta-bytes <n>", "maxMetaBytes", "largest meta of one job, as JSON"),
  ...limitFlag("--max-batch-jobs <n>", "maxBatchJobs", "most jobs in one batch or workflow"),
  ...limitFlag("--max-result-bytes <n>", "maxResultBytes", "largest result, progress data or error details"),
  ...limitFlag("--max-queued-bytes <n>", "maxQueuedBytes", "args and meta of unfinished jobs held at once; past it enqueues get queue_full"),

  {
    flags: "--headers-timeout-ms <n>",
    help: "a connection must send its first request within this (default 10000)",
    group: CONNECTIONS,
    apply: (o, v) => (o.headersTimeoutMs = count("--headers-timeout-ms", 1)(v)),
  },
  {
    flags: "--idle-timeout-ms <n>",
    help: "a connection with nothing in flight is closed after this (default 65000)",
    group: CONNECTIONS,
    apply: (o, v) => (o.idleTimeoutMs = count("--idle-timeout-ms", 1)(v)),
  },
  {
    flags: "--max-connections <n>",
    help: "open connections at most; past it 503 / RESOURCE_EXHAUSTED (default 4096)",
    group: CONNECTIONS,
    apply: (o, v) => (o.maxConnections = count("--max-connections", 1)(v)),
  },
  {
    flags: "--max-streams-per-connection <n>",
    help: "concurrent HTTP/2 streams per connection (default 250)",
    group: CONNECTIONS,
    apply: (o, v) => (o.maxStreamsPerConnection = count("--max-streams-per-connection", 1)(v)),
  },
  {
    flags: "--keepalive-interval-ms <n>",
    help: "HTTP/2 ping interval (default 5000)",
    group: CONNECTIONS,
    apply: (o, v) => (o.keepaliveIntervalMs = count("--keepalive-interval-ms", 1)(v)),
  },
  {
    flags: "--keepalive-timeout-ms <n>",
    help: "a ping unanswered this long ends the connection (default 5000)",
    group: CONNECTIONS,
    apply: (o, v) => (o.keepaliveTimeoutMs = count("--keepalive-timeout-ms", 1)(v)),
  },
  {
    flags: "--max-in-flight-per-stream <n>",
    help: "unsettled jobs pushed to one StreamJobs stream (default 1000)",
    group: CONNECTIONS,
    apply: (o, v) => (o.maxInFlightPerStream = count("--max-in-flight-per-stream", 1)(v)),
  },
  {
    flags: "--max-in-flight-per-worker <n>",
    help: "unsettled jobs one worker id holds (default 1000)",
    group: CONNECTIONS,
    apply: (o, v) => (o.maxInFlightPerWorker = count("--max-in-flight-per-worker", 1)(v)),
  },

  {
    flags: "--auth-token <token>",
    help: "one admin token; clients send it as Authorization: Bearer TOKEN (auth: { token } / OJS_AUTH_TOKEN)",
    group: AUTH,
    env: "OJS_SERVER_TOKEN",
    apply: (o, v) => {
      if (v === "") throw new Error("--auth-token: the token is empty");
      auth(o).token = String(v);
    },
  },
  {
    flags: "--auth-file <file>",
    help: "JSON file of keys with roles (admin, producer, worker, readonly) and client-certificate rules",
    group: AUTH,
    env: "OJS_SERVER_AUTH_FILE",
    apply: (o, v) => (auth(o).file = String(v)),
  },
  {
    flags: "--public-metrics",
    help: "let /metrics answer without credentials",
    group: AUTH,
    apply: (o) => {
      if (!o.auth) throw new Error("--public-metrics: only means something with --auth-token or --auth-file");
      o.auth.publicMetrics = true;
    },
  },

  { flags: "--tls-cert <file>", help: "server certificate chain (PEM)", group: TLS, apply: (o, v) => (tls(o).certFile = String(v)) },
  { flags: "--tls-key <file>", help: "its private key (PEM)", group: TLS, apply: (o, v) => (tls(o).keyFile = String(v)) },
  {
    flags: "--tls-ca <file>",
    help: "CA for client certificates: every client must present one (mTLS)",
    group: TLS,
    apply: (o, v) => (tls(o).caFile = String(v)),
  },

  {
    flags: "--insecure",
    help: "allow listening beyond loopback without auth (only behind something else that checks callers)",
    group: NETWORK,
    apply: (o) => (o.allowInsecure = true),
  },
  {
    flags: "--allowed-host <name>",
    help: "host name accepted besides loopback names (repeatable)",
    group: NETWORK,
    repeatable: true,
    apply: (o, v) => (o.allowedHosts = v as string[]),
  },
  {
    flags: "--allowed-origin <origin>",
    help: "browser origin accepted for cross-origin requests, with CORS (repeatable), e.g. https://dash.example.com",
    group: NETWORK,
    repeatable: true,
    apply: (o, v) => (o.allowedOrigins = v as string[]),
  },

  {
    flags: "--conformance",
    help: "for the official conformance runner: its test hooks, POST /ojs/v1/admin/reset (pass it as -reset-url), and the spec's 1800 s visibility timeout unless --visibility-timeout-ms says otherwise",
    group: TESTING,
    apply: (o) => {
      o.conformanceHooks = true;
      o.visibilityTimeoutMs ??= SPEC_VISIBILITY_TIMEOUT_MS;
    },
  },
];

/** A flag for one of the server's limits (src/model/limits.ts); its default comes from DEFAULT_LIMITS. */
function limitFlag(flags: string, key: keyof Limits, help: string): ServeFlag[] {
  const name = flags.split(" ")[0]!;
  return [{ flags, help: `${help} (default ${DEFAULT_LIMITS[key]})`, group: LIMITS, apply: (o, v) => (o.limits = { ...o.limits, [key]: count(name, 1)(v) }) }];
}

/** Checks that need several flags at once. */
function checkCombinations(o: ServerOptions): void {
  if (o.tls) {
    const { certFile, keyFile } = o.tls;
    if (certFile === undefined && keyFile === undefined) throw new Error("--tls-ca: needs --tls-cert and --tls-key");
    if (certFile === undefined || keyFile === undefined) throw new Error("--tls-cert and --tls-key: give both");
  }
}

/** Declares every serve flag on a command, each under its help section. */
export function addServeFlags(cmd: Command): Command {
  for (const f of SERVE_FLAGS) {
    const notes = [f.default !== undefined && `default ${f.default}`, f.env && `env ${f.env}`].filter(Boolean).join(", ");
    const opt = new Option(f.flags, notes ? `${f.help} (${notes})` : f.help).helpGroup(f.group);
    if (f.choices) opt.choices(f.choices);
    if (f.repeatable) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

/** The startServer options for parsed flag values, with the env fallbacks; errors name the flag. */
export function serveOptionsFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): ServerOptions {
  const o: ServerOptions = {};
  // Flags are applied in table order, so --conformance sees an explicit --visibility-timeout-ms.
  for (const f of SERVE_FLAGS) {
    const key = new Option(f.flags).attributeName();
    let v = values[key] as FlagValue | undefined;
    if (v === undefined && f.env && env[f.env]) v = env[f.env]!;
    if (v === undefined) v = f.default;
    // Absent flags are undefined; false comes only from a negated flag ("--no-ui") and is passed on.
    if (v === undefined) continue;
    f.apply(o, v);
  }
  checkCombinations(o);
  return o;
}

/** Parses serve arguments alone (for tests and embedding): startServer options, or "help". */
export function serveOptions(args: string[], env: NodeJS.ProcessEnv = process.env): ServerOptions | "help" {
  if (args.includes("--help") || args.includes("-h")) return "help";
  const cmd = addServeFlags(new Command("serve"))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  cmd.parse(args, { from: "user" });
  return serveOptionsFrom(cmd.opts(), env);
}
