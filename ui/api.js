// Talks to the server the page came from: the admin API for data and actions,
// the SSE event stream for live updates. The key the user gave goes in the
// Authorization header of every call, the stream included (EventSource cannot
// send headers, so the stream is read with fetch).

/** The server's root: the page lives at <root>/ui/, so this works behind a path prefix too. */
const root = new URL("../", location.href);
const KEY = "ojs-dashboard-key";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY) ?? "";
}
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

const authListeners = new Set();
/** Called with the error when the server refuses the key (401) or wants one. */
export function onAuthNeeded(fn) {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

function headers(extra = {}) {
  const key = getKey();
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

export async function api(path, { method = "GET", body } = {}) {
  const res = await fetch(new URL(path, root), {
    method,
    headers: headers(body !== undefined ? { "content-type": "application/json" } : {}),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    if (res.status === 401) for (const fn of authListeners) fn(err);
    throw err;
  }
  return json;
}

export const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "" && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};

/**
 * Reads the server's event stream until `signal` aborts, reconnecting after
 * failures (with Last-Event-ID, so the server replays what was missed).
 * `onStatus` hears "live", "reconnecting" or "unauthorized".
 */
export async function followEvents(onEvent, onStatus, signal) {
  let lastId;
  let delay = 500;
  while (!signal.aborted) {
    try {
      const res = await fetch(new URL("ojs/v1/events/stream", root), {
        headers: headers({ accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) }),
        signal,
      });
      if (res.status === 401 || res.status === 403) {
        onStatus("unauthorized");
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onStatus("live");
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        // Frames end with a blank line; a partial frame waits for the next chunk. Bounded: a
        // frame larger than 1 MiB is not an event this server sends, so it is dropped.
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const ev = parseFrame(frame);
          if (ev) {
            lastId = ev.id ?? lastId;
            onEvent(ev.data);
          }
        }
        if (buf.length > 1 << 20) buf = "";
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    onStatus("reconnecting");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

function parseFrame(frame) {
  let id;
  const data = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (!data.length) return undefined;
  try {
    return { id, data: JSON.parse(data.join("\n")) };
  } catch {
    return undefined;
  }
}
