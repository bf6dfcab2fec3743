/**
 * The options of one call, apart from the Transport interface so that the
 * admin transport (admin.ts), which the Transport refers to, can use them
 * without an import cycle.
 */

/** Per-call options every operation takes: cancel it, bound it, add headers. */
export interface CallOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
  /** Per-call deadline; the transport's default applies when absent. */
  timeoutMs?: number;
  /** Extra request headers / metadata for this call. */
  headers?: Record<string, string>;
}
