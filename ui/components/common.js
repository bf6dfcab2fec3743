// Pieces every page uses: data loading that refreshes on live events, state
// badges, JSON blocks, times, and the action button with its confirmation.
import { html, useEffect, useRef, useState } from "../lib.js";

const listeners = new Set();
/** Every event of the server's stream goes through here (main.js feeds it). */
export function publishEvent(ev) {
  for (const fn of listeners) fn(ev);
}
export function useEvents(fn) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l = (ev) => ref.current(ev);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
}

/**
 * Loads with `load()` when `deps` change, and again (at most every 400 ms)
 * after each live event that `relevant(ev)` accepts.
 */
export function useData(load, deps, relevant = () => true) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const gen = useRef(0);
  const timer = useRef(undefined);
  const run = () => {
    const mine = ++gen.current;
    load().then(
      (data) => mine === gen.current && setState({ data, error: undefined }),
      (error) => mine === gen.current && setState((s) => ({ data: s.data, error })),
    );
  };
  useEffect(() => {
    setState({ data: undefined, error: undefined });
    run();
    return () => clearTimeout(timer.current);
  }, deps);
  useEvents((ev) => {
    if (!relevant(ev) || timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      run();
    }, 400);
  });
  return { ...state, reload: run };
}

export const STATES = ["scheduled", "available", "pending", "active", "completed", "retryable", "cancelled", "discarded"];

export function Badge({ state }) {
  return html`<span class=${`badge s-${state}`}>${state}</span>`;
}

export function Json({ value }) {
  if (value === undefined) return html`<span class="muted">—</span>`;
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false });
}

export function ago(iso) {
  if (!iso) return "—";
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const f = (n, u) => `${n} ${u}${n === 1 ? "" : "s"}`;
  const abs = Math.abs(s);
  const txt = abs < 60 ? f(abs, "second") : abs < 3600 ? f(Math.round(abs / 60), "minute") : abs < 86400 ? f(Math.round(abs / 3600), "hour") : f(Math.round(abs / 86400), "day");
  return s >= 0 ? `${txt} ago` : `in ${txt}`;
}

export const short = (id) => (id ? id.slice(-8) : "");

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<div class="error-note" role="alert">${error.message}</div>`;
}

/**
 * A button that runs `action` (after `confirm` text, when given, is accepted),
 * then reports the outcome next to itself.
 */
export function ActionButton({ label, action, confirm: question, danger, onDone, name }) {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState(undefined);
  const click = async () => {
    if (question && !window.confirm(question)) return;
    setBusy(true);
    setNote(undefined);
    try {
      const out = await action();
      setNote({ ok: true, text: typeof out === "string" ? out : "done" });
      onDone?.(out);
    } catch (e) {
      setNote({ ok: false, text: e.message });
    } finally {
      setBusy(false);
    }
  };
  return html`<span class="action">
    <button class=${danger ? "danger" : ""} disabled=${busy} onClick=${click} data-action=${name ?? label}>${label}</button>
    ${note && html`<span class=${note.ok ? "ok-note" : "error-inline"}>${note.text}</span>`}
  </span>`;
}

export function Pager({ page, perPage, total, go }) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  return html`<div class="pager">
    <button disabled=${page <= 1} onClick=${() => go(page - 1)}>‹ prev</button>
    <span>page ${page} of ${pages} · ${total} total</span>
    <button disabled=${page >= pages} onClick=${() => go(page + 1)}>next ›</button>
  </div>`;
}
