/**
 * `ctx.checkpoint()` and `ctx.lastCheckpoint()` for one attempt (the
 * durable-execution extension). The last checkpoint comes from the fetched
 * job's envelope when the server put it there (HTTP, §6.1), else from one read
 * when the handler first asks (the gRPC transport reaches the HTTP binding for
 * it). A typed handler's checkpoint schema checks what is saved and parses
 * what is loaded.
 */
import type { z } from "zod";
import { checkCheckpointState, checkpointOps } from "../transport/checkpoint-ops.js";
import { NotFoundError, ValidationError } from "../model/errors.js";
import type { Job } from "../model/job.js";
import type { JsonValue } from "../model/json.js";
import { DEFAULT_LIMITS } from "../model/limits.js";
import type { Transport } from "../transport/transport.js";

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `checkpoint${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${i.message}`).join("; ");
}

export class AttemptCheckpoint {
  private loaded = false;
  private value: unknown;

  constructor(
    private readonly transport: Transport,
    private readonly job: Job,
    private readonly workerId: string,
    private readonly schema: z.ZodType | undefined,
  ) {}

  /** Saves `state` as the job's checkpoint; resolves once the server has it. */
  async save(state: unknown): Promise<void> {
    let value = state;
    if (this.schema) {
      const parsed = this.schema.safeParse(state);
      if (!parsed.success)
        throw new ValidationError(`ctx.checkpoint: the state does not match the handler's checkpoint schema: ${issues(parsed.error)}`, {
          operation: "ctx.checkpoint",
        });
      value = parsed.data;
    }
    const json = checkCheckpointState(DEFAULT_LIMITS, state, "ctx.checkpoint");
    await checkpointOps(this.transport, "ctx.checkpoint").saveCheckpoint(this.job.id, json, { workerId: this.workerId });
    this.loaded = true;
    this.value = value;
  }

  /** The last saved state: this attempt's latest save, else the previous attempts' (undefined when none). */
  async last(): Promise<unknown> {
    if (this.loaded) return this.value;
    let raw: JsonValue | undefined;
    if (this.job.checkpoint) raw = this.job.checkpoint.state;
    else {
      try {
        raw = (await checkpointOps(this.transport, "ctx.lastCheckpoint").getCheckpoint(this.job.id))?.state;
      } catch (e) {
        // The job is running here, so a 404 can only mean that it has no checkpoint.
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    let value: unknown = raw;
    if (raw !== undefined && this.schema) {
      const parsed = this.schema.safeParse(raw);
      // Saved by other code (an older version of the handler?): say so rather than resume from it.
      if (!parsed.success)
        throw new ValidationError(`ctx.lastCheckpoint: the saved checkpoint does not match the handler's checkpoint schema: ${issues(parsed.error)}`, {
          operation: "ctx.lastCheckpoint",
        });
      value = parsed.data;
    }
    // Another read may have raced with a save: the save's value wins.
    if (!this.loaded) {
      this.loaded = true;
      this.value = value;
    }
    return this.value;
  }
}
