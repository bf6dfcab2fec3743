/**
 * `ojs-connect wait ID`: blocks until the job reaches a terminal state, prints
 * it, and exits 0 when it completed, 1 when it was cancelled or discarded, or
 * when waiting failed (unknown job, timeout, unreachable server).
 */
import { parseArgs } from "node:util";
import { Client } from "../client/client.js";
import { jobToJson } from "../codec/json.js";
import { OjsError } from "../model/errors.js";

export const WAIT_USAGE = `Usage: ojs-connect wait ID [--url http://localhost:8080] [--transport grpc|http] [--timeout-ms N] [--json]

Waits until job ID is completed, cancelled or discarded. Prints "ID state" and the result or
last error (--json: the whole job as OJS JSON). Exit status: 0 completed, 1 cancelled, discarded
or waiting failed, 2 usage. URL and transport default to OJS_URL and OJS_TRANSPORT.`;

/** Runs the command; returns the process exit status. Output goes to `out`, problems to `err`. */
export async function waitCommand(
  argv: string[],
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
  signal?: AbortSignal,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        transport: { type: "string" },
        "timeout-ms": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    err(`${(e as Error).message}\n\n${WAIT_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(WAIT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    err(`${positionals.length === 0 ? "wait: missing the job ID" : `wait: one job ID, got ${positionals.length}`}\n\n${WAIT_USAGE}`);
    return 2;
  }
  const timeoutMs = values["timeout-ms"] === undefined ? undefined : Number(values["timeout-ms"]);
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    err(`--timeout-ms: must be a positive number of milliseconds, got ${values["timeout-ms"]}`);
    return 2;
  }
  const id = positionals[0]!;
  let client: Client;
  try {
    client = new Client({
      ...(values.url !== undefined ? { url: values.url } : {}),
      ...(values.transport !== undefined ? { transport: values.transport as "grpc" | "http" } : {}),
    });
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return 2;
  }
  try {
    const job = await client.waitForJob(id, { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(signal ? { signal } : {}) });
    if (values.json) out(JSON.stringify(jobToJson(job)));
    else {
      const lastError = job.errors.at(-1);
      const detail = job.state === "completed" ? (job.result === undefined ? "" : ` ${JSON.stringify(job.result)}`) : lastError ? ` ${lastError.message}` : "";
      out(`${job.id} ${job.state}${detail}`);
    }
    return job.state === "completed" ? 0 : 1;
  } catch (e) {
    err(`wait ${id}: ${e instanceof OjsError ? `[${e.code}] ` : ""}${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await client.close();
  }
}
