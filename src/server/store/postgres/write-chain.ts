/**
 * Writes that an in-process registry (cron, schemas) reports through its
 * onChange hook, sent to the database one after another in the order of the
 * changes (so the last change wins), with what the store's durable() waits
 * for: every write so far, failing with the first that failed (as an
 * OjsError: a database out of reach is the retryable `unavailable`).
 */
import { toOjsError } from "./errors.js";

export class WriteChain {
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private failure: unknown;
  /** Bumped on every write queued: a refresh read before one is stale and dropped. */
  generation = 0;

  get busy(): boolean {
    return this.inFlight > 0;
  }

  push(write: () => Promise<void>): void {
    this.generation++;
    this.inFlight++;
    this.tail = this.tail
      .then(write)
      .catch((e: unknown) => {
        this.failure ??= toOjsError(e);
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  durable(): Promise<void> | undefined {
    if (this.inFlight === 0 && this.failure === undefined) return undefined;
    return this.tail.then(() => {
      const f = this.failure;
      this.failure = undefined;
      if (f !== undefined) throw f;
    });
  }
}
