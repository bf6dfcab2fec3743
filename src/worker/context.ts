/**
 * The JobContext of one attempt, as a class: one is made for every job, and an
 * object literal with getters (signal, state) was built property by property
 * into a dictionary-mode object, about 1.5 KB per job (docs/performance-wkr.md).
 * Here the data are plain fields, `signal` and `state` prototype getters (the
 * AbortController and the Map exist only for handlers that use them), and the
 * methods own arrow functions that do not read `this`, so a handler may still
 * take them off the context (`const { progress } = ctx`).
 */
import type { z } from "zod";
import type { Job } from "../model/job.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import type { Transport } from "../transport/transport.js";
import { AttemptCheckpoint } from "./checkpoint.js";
import { ProgressReporter } from "./progress.js";
import type { ActiveJob } from "./slots.js";
import type { JobContext } from "./types.js";

/** What an attempt's context reaches of its worker. */
export interface ContextHost {
  readonly transport: Transport;
  readonly workerId: string;
  readonly visibilityTimeoutMs: number | undefined;
  /** The server says the job is no longer ours. */
  loseJob(id: string): void;
  /** ctx.abort(reason): aborts the attempt's signal, and fails it after the abort grace. */
  abortJob(a: ActiveJob, reason: unknown): void;
}

export class AttemptContext implements JobContext<unknown> {
  readonly job: Job;
  readonly jobId: string;
  readonly type: string;
  readonly meta: JsonObject;
  readonly attempt: number;
  readonly queue: string;
  readonly workerId: string;
  readonly parentResults: JsonObject;
  readonly workflowId: string | undefined;
  readonly progress: (value: number | JsonObject) => void;
  readonly checkpoint: (state: JsonValue) => Promise<void>;
  readonly lastCheckpoint: () => Promise<JsonValue | undefined>;
  readonly heartbeat: () => Promise<void>;
  readonly abort: (reason?: unknown) => void;
  #a: ActiveJob;
  #state: Map<string, unknown> | undefined;

  constructor(
    host: ContextHost,
    a: ActiveJob,
    readonly args: unknown,
    checkpointSchema: z.ZodType | undefined,
    checkpointTransport: Transport | undefined,
  ) {
    const { job } = a;
    const { transport, workerId } = host;
    this.#a = a;
    this.#state = undefined;
    this.job = job;
    this.jobId = job.id;
    this.type = job.type;
    this.meta = job.meta;
    this.attempt = job.attempt;
    this.queue = job.queue;
    this.workerId = workerId;
    this.parentResults = job.parentResults ?? {};
    this.workflowId = job.workflowId;
    let cp: AttemptCheckpoint | undefined;
    // No named local arrow for the shared part: tsx (esbuild's keepNames) names each one as it is
    // made, a defineProperty per job. Arrows assigned to fields are not named.
    this.progress = (value) => (a.progress ??= new ProgressReporter(transport, job.id)).report(value);
    this.checkpoint = (state) => (cp ??= new AttemptCheckpoint(checkpointTransport ?? transport, job, workerId, checkpointSchema)).save(state);
    this.lastCheckpoint = () =>
      (cp ??= new AttemptCheckpoint(checkpointTransport ?? transport, job, workerId, checkpointSchema)).last() as Promise<JsonValue | undefined>;
    this.heartbeat = async () => {
      const r = await transport.heartbeat({ workerId, state: "running", activeJobIds: [job.id], visibilityTimeoutMs: host.visibilityTimeoutMs });
      if (r.lost?.includes(job.id)) host.loseJob(job.id);
    };
    this.abort = (reason) => host.abortJob(a, reason);
  }

  get signal(): AbortSignal {
    return this.#a.abort.signal;
  }

  get state(): Map<string, unknown> {
    return (this.#state ??= new Map());
  }
}
