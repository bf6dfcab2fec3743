// The landing page: totals by state, throughput over the last hour, every
// queue with its counts and pause/resume, and the latest events as they come.
import { api } from "../api.js";
import { ThroughputChart } from "../components/chart.js";
import { ActionButton, Badge, ErrorNote, STATES, short, useData, useEvents } from "../components/common.js";
import { html, useEffect, useState } from "../lib.js";

export function Overview() {
  const stats = useData(() => api("ojs/v1/admin/stats"), []);
  const history = useData(() => api("ojs/v1/admin/stats/history?period=1m"), [], (ev) => /completed|failed/.test(ev.type));
  const queues = useData(() => api("ojs/v1/admin/queues?per_page=100"), []);
  const s = stats.data;
  return html`<section>
    <h1>Overview</h1>
    <${ErrorNote} error=${stats.error ?? queues.error} />
    ${s && html`<div class="cards">
      ${STATES.map((st) => html`<a class="card" href=${`#/jobs?state=${st}`} data-count=${st}><div class="num">${s.jobs?.[st] ?? 0}</div><${Badge} state=${st} /></a>`)}
      <a class="card" href="#/jobs?dead_letter=true" data-count="dead_letter"><div class="num">${s.dead_letter ?? 0}</div><span class="badge s-discarded">dead letter</span></a>
    </div>
    <p class="muted">${s.queues} queues · ${s.workers} workers · ${s.throughput?.processed_per_minute?.toFixed(1)} processed/min · ${s.throughput?.failed_per_minute?.toFixed(1)} failed/min · up ${s.uptime_seconds} s</p>`}
    <h2>Throughput (last hour)</h2>
    <div class="panel"><${ThroughputChart} points=${history.data?.data?.slice(-60)} /></div>
    <h2>Queues</h2>
    <${QueueTable} queues=${queues.data?.items} reload=${() => (queues.reload(), stats.reload())} />
    <h2>Live events</h2>
    <${EventFeed} />
  </section>`;
}

function QueueTable({ queues, reload }) {
  if (!queues) return html`<div class="muted">loading…</div>`;
  if (!queues.length) return html`<div class="muted">no queues yet</div>`;
  return html`<table class="queues">
    <thead><tr><th>queue</th><th>state</th>${STATES.map((s) => html`<th class="num">${s}</th>`)}<th class="num">processed/min</th><th></th></tr></thead>
    <tbody>${queues.map((q) => html`<tr data-queue=${q.name}>
      <td><a href=${`#/jobs?queue=${encodeURIComponent(q.name)}`}>${q.name}</a></td>
      <td><span class=${`badge ${q.paused ? "s-paused" : "s-active"}`} data-queue-state>${q.paused ? "paused" : "active"}</span></td>
      ${STATES.map((s) => html`<td class="num"><a href=${`#/jobs?queue=${encodeURIComponent(q.name)}&state=${s}`}>${q.counts?.[s] ?? 0}</a></td>`)}
      <td class="num">${q.throughput?.processed_per_minute?.toFixed(1)}</td>
      <td>${q.paused
        ? html`<${ActionButton} label="resume" name="resume" action=${() => api(`ojs/v1/admin/queues/${encodeURIComponent(q.name)}/resume`, { method: "POST" }).then(() => "resumed")} onDone=${reload} />`
        : html`<${ActionButton} label="pause" name="pause" action=${() => api(`ojs/v1/admin/queues/${encodeURIComponent(q.name)}/pause`, { method: "POST" }).then(() => "paused")} onDone=${reload} />`}</td>
    </tr>`)}</tbody>
  </table>`;
}

const FEED_MAX = 50;

function EventFeed() {
  const [events, setEvents] = useState([]);
  // The latest events the server kept, then each new one as it comes (newest first).
  useEffect(() => {
    api(`ojs/v1/events?limit=${FEED_MAX}`).then(
      (r) => setEvents((live) => [...live, ...r.events.filter((e) => !live.some((l) => l.id === e.id))].slice(0, FEED_MAX)),
      () => {},
    );
  }, []);
  useEvents((ev) => setEvents((list) => [ev, ...list].slice(0, FEED_MAX)));
  if (!events.length) return html`<div class="muted" id="feed">waiting for events…</div>`;
  return html`<ul class="feed" id="feed">${events.map((e) => html`<li key=${e.id}>
    <span class="muted">${new Date(e.time).toLocaleTimeString(undefined, { hour12: false })}</span>
    <code>${e.type}</code>
    ${e.job_id && html`<a href=${`#/jobs/${e.job_id}`}>${e.job_type ?? "job"} ${short(e.job_id)}</a>`}
    ${e.queue && html`<span class="muted">on ${e.queue}</span>`}
  </li>`)}</ul>`;
}
