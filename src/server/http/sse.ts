/**
 * Server-sent events for the HTTP binding: lifecycle events as
 * `id:` / `event:` / `data: <event JSON>` frames, a comment line as keepalive,
 * resume from the event ring with Last-Event-ID. Best effort like the gRPC
 * stream: a client that does not read falls behind and loses events rather
 * than growing the server's memory.
 */
import type { ServerResponse } from "node:http";
import { eventToJson } from "../../codec/json.js";
import type { EventFilter, OjsEvent } from "../../model/events.js";
import type { ServerCore } from "../core.js";
import { matchesFilter } from "../store/event-bus.js";
import { SPEC_VERSION } from "../version.js";
import type { HttpResult, NodeResponse } from "./router.js";

const KEEPALIVE_MS = 15_000;
/** Unsent bytes a slow reader may hold before further events are dropped for it. */
const MAX_BUFFERED = 1024 * 1024;
export const EVENT_SOURCE = "ojs-connect";

export function formatSse(e: OjsEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(eventToJson(e, EVENT_SOURCE))}\n\n`;
}

/** Live events held back while a resume reads the history. */
const MAX_HELD = 10_000;

/**
 * Replays what the store still holds after the last event the client saw (the
 * store's history: the memory ring, or the database's table shared by every
 * server). Answers the ids of the history it read, sent or not: the live
 * events must not repeat any of them.
 */
async function replay(core: ServerCore, filter: EventFilter, lastEventId: string, write: (chunk: string) => void): Promise<Set<string>> {
  try {
    const recent = await core.jobs.recentEvents(filter, 1000);
    const at = recent.findIndex((e) => e.id === lastEventId);
    for (const e of at >= 0 ? recent.slice(at + 1) : []) write(formatSse(e));
    return new Set(recent.map((e) => e.id));
  } catch {
    // Best effort, as the stream itself: without the history the client still gets what comes next.
    return new Set();
  }
}

export function sseStream(core: ServerCore, filter: EventFilter, lastEventId: string | undefined): HttpResult {
  return {
    stream: (res: NodeResponse, requestId: string) => {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "ojs-version": SPEC_VERSION,
        "x-request-id": requestId,
      });
      let open = true;
      const write = (chunk: string): void => {
        if (!open) return;
        if (res.writableLength > MAX_BUFFERED) return;
        (res as ServerResponse).write(chunk);
      };
      write(": connected\n\n");
      // Live events that come while the history is read wait, so none is lost; one the history
      // had is not sent again (a store whose live events lag its history: PostgreSQL's feed).
      let held: OjsEvent[] | undefined = lastEventId ? [] : undefined;
      let replayed: ReadonlySet<string> = new Set();
      const unsubscribe = core.store.events.subscribe((e) => {
        if (!matchesFilter(e, filter)) return;
        if (held) {
          if (held.length < MAX_HELD) held.push(e);
        } else if (!replayed.has(e.id)) write(formatSse(e));
      });
      if (lastEventId)
        void replay(core, filter, lastEventId, write).then((history) => {
          replayed = history;
          for (const e of held ?? []) if (!history.has(e.id)) write(formatSse(e));
          held = undefined;
        });
      const keepalive = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
      keepalive.unref();
      const stop = (): void => {
        if (!open) return;
        open = false;
        clearInterval(keepalive);
        unsubscribe();
        core.streams.delete(stop);
        if (!res.writableEnded) res.end();
      };
      core.streams.add(stop);
      res.on("close", stop);
      res.on("error", stop);
    },
  };
}
