import type { EventFilter, OjsEvent } from "../model/events.js";
import { AbortError, OjsError } from "../model/errors.js";
import type { Transport } from "../transport/transport.js";
import { Backoff, sleep } from "../util/backoff.js";

/** Options of client.events(): a filter, and how to end and observe the stream. */
export interface EventsOptions extends EventFilter {
  /** Ends the iteration (the only way it ends: it reconnects after failures). */
  signal?: AbortSignal;
  /** Called when the stream broke and is about to reconnect. */
  onReconnect?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const SEEN = 2048;

/**
 * Lifecycle events as an AsyncIterable that survives disconnects: on failure
 * it reconnects with jittered backoff, asks for the events it missed meanwhile
 * (SSE Last-Event-ID, where the server keeps them), and drops events it already
 * yielded (delivery is at least once). Errors that retrying cannot fix (no event
 * stream on the server, bad credentials) end it with that error.
 */
export async function* followEvents(transport: Transport, opts: EventsOptions, onEvent?: () => void): AsyncIterable<OjsEvent> {
  const local = new AbortController();
  const outer = opts.signal;
  const onAbort = () => local.abort(outer?.reason);
  if (outer?.aborted) return;
  outer?.addEventListener("abort", onAbort, { once: true });
  const seen = new Set<string>();
  const backoff = new Backoff(200, 15_000);
  let attempt = 0;
  let lastId: string | undefined;
  const filter: EventFilter = {};
  if (opts.queues) filter.queues = opts.queues;
  if (opts.types) filter.types = opts.types;
  if (opts.jobId) filter.jobId = opts.jobId;
  if (opts.workflowId) filter.workflowId = opts.workflowId;
  try {
    while (!local.signal.aborted) {
      try {
        // After a break, ask for what was missed since the last event seen (where the server can replay).
        for await (const e of transport.streamEvents(filter, { signal: local.signal, ...(lastId ? { lastEventId: lastId } : {}) })) {
          attempt = 0;
          backoff.reset();
          onEvent?.();
          if (e.id) {
            lastId = e.id;
            if (seen.has(e.id)) continue;
            seen.add(e.id);
            // Bounded memory: forget the oldest ids (Sets iterate in insertion order).
            if (seen.size > SEEN) seen.delete(seen.values().next().value!);
          }
          yield e;
        }
      } catch (error) {
        if (local.signal.aborted || error instanceof AbortError) break;
        // A server without an event stream, or one that refuses our credentials, will not change its
        // mind: say so instead of retrying for ever.
        if (error instanceof OjsError && !error.retryable) throw error;
        attempt++;
        const delayMs = backoff.next();
        opts.onReconnect?.({ attempt, delayMs, error });
        await sleep(delayMs, local.signal);
        continue;
      }
      // The server ended the stream cleanly: reconnect too, after a pause.
      if (!local.signal.aborted) await sleep(backoff.next(), local.signal);
    }
  } finally {
    outer?.removeEventListener("abort", onAbort);
    local.abort();
  }
}
