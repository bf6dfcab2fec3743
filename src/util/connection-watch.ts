/**
 * Turns a stream of call outcomes into connection episodes: the first failure
 * says the connection is lost, a failure a minute (`repeatMs`) after the last
 * line says it again, and the next success says it is back. Retrying is left
 * to the caller; no timer is kept, so nothing here holds a process open.
 */
import { errorText, type Logger } from "./logger.js";

export class ConnectionWatch {
  private lostAt: number | undefined;
  private lastSaidAt = 0;
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    /** Who is talking to what, e.g. "ojs-connect worker 0196... -> http://127.0.0.1:8080". */
    private readonly who: string,
    private readonly repeatMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True between the first failure and the next success. */
  get lost(): boolean {
    return this.lostAt !== undefined;
  }

  failed(error: unknown): void {
    const t = this.now();
    this.failures++;
    if (this.lostAt === undefined) {
      this.lostAt = this.lastSaidAt = t;
      this.failures = 1;
      this.logger.warn(`${this.who}: cannot reach the server (${errorText(error)}); retrying`, { error });
      return;
    }
    if (t - this.lastSaidAt < this.repeatMs) return;
    this.lastSaidAt = t;
    const s = Math.round((t - this.lostAt) / 1000);
    this.logger.warn(`${this.who}: still cannot reach the server after ${s} s and ${this.failures} failed attempts (${errorText(error)}); retrying`, { error });
  }

  ok(): void {
    if (this.lostAt === undefined) return;
    const s = Math.round((this.now() - this.lostAt) / 1000);
    this.lostAt = undefined;
    this.logger.info(`${this.who}: connection to the server regained after ${s} s`);
  }
}
