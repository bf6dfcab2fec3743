/**
 * Lifecycle events over the HTTP binding: a server-sent event stream, on a
 * socket of its own, filtered here as well so every server gives the same events.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { eventFromJson } from "../../codec/json.js";
import { matchesFilter, type EventFilter, type OjsEvent } from "../../model/events.js";
import { isJsonObject, type JsonValue } from "../../model/json.js";
import type { CallOptions } from "../transport.js";
import { fromHttpResponse, fromNetworkError } from "./errors.js";
import { query } from "./query.js";
import { parseSse } from "./sse.js";

/** Where a stream goes, and the connection's own headers. */
export interface HttpEndpoint {
  base: URL;
  secure: boolean;
  headers: Record<string, string>;
}

type StreamOptions = CallOptions & { signal: AbortSignal; lastEventId?: string };

/** The events matching `filter`, as they happen, until the signal aborts or the server ends the stream. */
export async function* eventStream(endpoint: HttpEndpoint, filter: EventFilter, opts: StreamOptions): AsyncIterable<OjsEvent> {
  const q = query({
    queues: filter.queues?.join(","),
    types: filter.types?.join(","),
    job_id: filter.jobId,
    workflow_id: filter.workflowId,
  });
  // The per-job and per-queue streams are what official servers serve; the general stream is ours.
  // Whatever the route, the filter is applied here too, so every server gives the same events.
  const path = filter.jobId
    ? `/ojs/v1/jobs/${encodeURIComponent(filter.jobId)}/events${q}`
    : filter.queues?.length === 1 && !filter.workflowId
      ? `/ojs/v1/queues/${encodeURIComponent(filter.queues[0]!)}/events${q}`
      : `/ojs/v1/events/stream${q}`;
  const res = await openStream(endpoint, path, opts);
  try {
    for await (const m of parseSse(res)) {
      let body: unknown;
      try {
        body = JSON.parse(m.data);
      } catch {
        continue;
      }
      if (isJsonObject(body)) {
        const e = eventFromJson(body);
        if (!e.type) e.type = m.event;
        if (!e.id && m.id) e.id = m.id;
        if (matchesFilter(e, filter)) yield e;
      }
    }
  } catch (e) {
    if (opts.signal.aborted) return;
    throw fromNetworkError(e, "streamEvents", undefined);
  } finally {
    res.destroy();
  }
}

/** A GET that stays open (SSE); the response is the byte stream. */
function openStream(endpoint: HttpEndpoint, path: string, opts: StreamOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = endpoint.secure ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...endpoint.headers, ...(opts.headers ?? {}), accept: "text/event-stream" };
    if (opts.lastEventId) headers["last-event-id"] = opts.lastEventId;
    // Streams get their own socket: a pooled keep-alive socket would be pinned for the stream's life.
    const req = send({
      protocol: endpoint.base.protocol,
      hostname: endpoint.base.hostname,
      port: endpoint.base.port,
      path: endpoint.base.pathname.replace(/\/$/, "") + path,
      method: "GET",
      headers,
      agent: false,
      signal: opts.signal,
    });
    req.on("error", (e) => reject(fromNetworkError(e, "streamEvents", opts.signal.aborted ? "signal" : undefined)));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let body: JsonValue | undefined;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonValue;
          } catch {
            body = undefined;
          }
          reject(fromHttpResponse(status, body, res.headers, "streamEvents", `GET ${path.split("?")[0]}`));
        });
        return;
      }
      resolve(res);
    });
    req.end();
  });
}
