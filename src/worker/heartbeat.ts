/**
 * The worker's heartbeat: every heartbeatIntervalMs it reports its state and
 * the jobs it holds, which extends their reservations; the answer may carry a
 * directive (quiet, running, terminate) and the jobs no longer ours.
 */
import type { WorkerDirective } from "../model/system.js";
import type { Transport } from "../transport/transport.js";
import type { EmitWorkerEvent } from "./events.js";
import type { ResolvedWorkerOptions } from "./options.js";

/** What the heartbeat needs from its worker. */
export interface HeartbeatHost {
  readonly transport: Transport;
  readonly workerId: string;
  readonly opts: ResolvedWorkerOptions;
  readonly emit: EmitWorkerEvent;
  /** The state to report now. */
  reportedState(): WorkerDirective;
  /** Ids of every job held, running or waiting for a slot. */
  heldIds(): string[];
  /** The server says the job is no longer ours. */
  loseJob(id: string): void;
  applyDirective(d: WorkerDirective): void;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  /** The beat being sent, if any: stop() waits for it before the last one. */
  inFlight: Promise<void> | undefined;

  constructor(private readonly h: HeartbeatHost) {}

  schedule(): void {
    this.timer = setTimeout(() => {
      this.inFlight = this.send(this.h.reportedState())
        .then((d) => {
          this.h.emit("heartbeat", { directive: d });
          if (d) this.h.applyDirective(d);
        })
        .catch((error) => this.h.emit("error", { error, context: "heartbeat" }))
        .finally(() => {
          this.inFlight = undefined;
          if (this.timer !== undefined) this.schedule();
        });
    }, this.h.opts.heartbeatIntervalMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One beat: reports state and the running jobs, extends their reservations. Failures keep the state as is. */
  async send(
    state: WorkerDirective,
    ids = this.h.heldIds(),
    timeoutMs = Math.max(1000, this.h.opts.heartbeatIntervalMs),
  ): Promise<WorkerDirective | undefined> {
    const { h } = this;
    const r = await h.transport.heartbeat({ workerId: h.workerId, state, activeJobIds: ids, visibilityTimeoutMs: h.opts.visibilityTimeoutMs }, { timeoutMs });
    for (const id of r.lost ?? []) h.loseJob(id);
    return r.directive;
  }
}
