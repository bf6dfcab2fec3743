/**
 * An abort that costs nothing until someone looks at its signal: most jobs
 * finish without being aborted and without their handler reading ctx.signal,
 * and an AbortController (an EventTarget) per job is a measurable share of a
 * fast worker's allocations.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private _aborted = false;
  private _reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this._aborted) this.controller.abort(this._reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this._aborted;
  }

  get reason(): unknown {
    return this._reason;
  }

  abort(reason: unknown): void {
    if (this._aborted) return;
    this._aborted = true;
    this._reason = reason;
    this.controller?.abort(reason);
  }
}
