/**
 * `enqueue --file jobs.ndjson`: every line one OJS job object (the body of
 * POST /ojs/v1/jobs). The file is read twice: first every line is checked, so
 * a bad line stops the command before anything is sent; then the jobs go out
 * in batches, with a progress bar on stderr.
 */
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { jobRequestFromJson, jobToJson } from "../codec/json.js";
import type { BatchJob } from "../client/client.js";
import type { EnqueueOptions } from "../model/job.js";
import { isJsonObject } from "../model/json.js";
import { normalizeJobRequest } from "../model/schemas.js";
import { withClient, type ConnectionFlags } from "./connect.js";
import { json, progressBar, UsageError, type Ctx } from "./output.js";

interface FileFlags extends ConnectionFlags {
  progress?: boolean;
}

/** Each non-blank line of the file as a job, with the command's options under the line's own. */
async function* jobsOf(path: string, defaults: EnqueueOptions): AsyncGenerator<BatchJob> {
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${path}:${n}: not JSON (${(e as Error).message})`);
    }
    if (!isJsonObject(value)) throw new UsageError(`${path}:${n}: must be a JSON object with type and args`);
    try {
      const { request } = jobRequestFromJson(value);
      const job: BatchJob = { type: request.type, args: request.args, options: { ...defaults, ...request.options } };
      normalizeJobRequest({ type: job.type, args: job.args, options: job.options ?? {} });
      yield job;
    } catch (e) {
      throw new UsageError(`${path}:${n}: ${(e as Error).message}`);
    }
  }
}

export async function enqueueFile(ctx: Ctx, flags: FileFlags, path: string, defaults: EnqueueOptions, batchSize: number): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new UsageError(`--file: cannot read ${path}`);
  }
  let total = 0;
  for await (const _ of jobsOf(path, defaults)) total++;
  const bar = progressBar(ctx.io, total, "enqueued", flags.progress);
  let sent = 0;
  await withClient(flags, async (client) => {
    let batch: BatchJob[] = [];
    const flush = async () => {
      const jobs = await client.enqueueBatch(batch);
      batch = [];
      sent += jobs.length;
      bar.add(jobs.length);
      if (flags.json) for (const j of jobs) ctx.io.out(json(jobToJson(j)));
    };
    try {
      for await (const job of jobsOf(path, defaults)) {
        batch.push(job);
        if (batch.length >= batchSize) await flush();
      }
      if (batch.length) await flush();
    } finally {
      bar.finish();
      // Say how far it got, so a rerun can skip what is already in.
      if (sent < total) ctx.io.err(`enqueue: ${sent} of ${total} jobs enqueued before the failure`);
    }
  });
  if (!flags.json) ctx.io.out(`enqueued ${sent} jobs from ${path}`);
}
