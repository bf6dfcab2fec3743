/**
 * The one way commands reach a server: --url, --transport and --token, with
 * OJS_URL, OJS_TRANSPORT and OJS_AUTH_TOKEN as defaults (the Client reads
 * those itself), and --json for every command that talks to a server.
 */
import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { Client } from "../client/client.js";
import { OjsError } from "../model/errors.js";
import { UsageError } from "./output.js";

export interface ConnectionFlags {
  url?: string;
  transport?: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
}

/** Adds the connection flags and --json to a command that talks to a server. */
export function withConnectionFlags(cmd: Command): Command {
  return cmd
    .option("--url <url>", "server URL (default OJS_URL, else http://localhost:8080)")
    .addOption(new Option("--transport <kind>", "grpc or http (default OJS_TRANSPORT, else grpc)").choices(["grpc", "http"]))
    .option("--token <token>", "bearer token (default OJS_AUTH_TOKEN)")
    .option("--tls-ca <file>", "CA (PEM) that signed an https:// server's certificate, if not a public one")
    .option("--tls-cert <file>", "client certificate (PEM), for servers that require one (mTLS)")
    .option("--tls-key <file>", "its private key (PEM)")
    .option("--json", "print JSON for scripts (one document per line) instead of text");
}

/** A Client for the flags; a bad URL or transport is a usage error (nothing was sent). */
export function connect(flags: ConnectionFlags): Client {
  if (flags.token === "") throw new UsageError("--token: the token is empty");
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new UsageError("--tls-cert and --tls-key: give both");
  const tls = {
    ...(flags.tlsCa !== undefined ? { ca: pem("--tls-ca", flags.tlsCa) } : {}),
    ...(flags.tlsCert !== undefined ? { cert: pem("--tls-cert", flags.tlsCert) } : {}),
    ...(flags.tlsKey !== undefined ? { key: pem("--tls-key", flags.tlsKey) } : {}),
  };
  try {
    return new Client({
      ...(flags.url !== undefined ? { url: flags.url } : {}),
      ...(flags.transport !== undefined ? { transport: flags.transport as "grpc" | "http" } : {}),
      ...(flags.token !== undefined ? { auth: { token: flags.token } } : {}),
      ...(Object.keys(tls).length ? { tls } : {}),
    });
  } catch (e) {
    throw new UsageError(e instanceof OjsError || e instanceof Error ? e.message : String(e));
  }
}

function pem(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Runs `fn` with a Client for the flags and closes it afterwards, whatever happens. */
export async function withClient<T>(flags: ConnectionFlags, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = connect(flags);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
