// One job: what it is (args, meta, result), how it went (attempts, errors with
// their backtraces, progress, the timeline of its events), and what can be
// done to it (retry, cancel, delete), all kept current by the event stream.
import { api } from "../api.js";
import { ActionButton, Badge, ErrorNote, Json, time, useData } from "../components/common.js";
import { isEncoded, Payload } from "../codec.js";
import { html } from "../lib.js";

const FINAL = new Set(["completed", "cancelled", "discarded"]);

export function JobPage({ id }) {
  const mine = (ev) => ev.job_id === id;
  const job = useData(() => api(`ojs/v1/admin/jobs/${encodeURIComponent(id)}`), [id], mine);
  // The server keeps a bounded ring of recent events: an old job's early events may be gone.
  const events = useData(() => api(`ojs/v1/events?job_id=${encodeURIComponent(id)}&limit=1000`), [id], mine);
  const progress = useData(() => api(`ojs/v1/jobs/${encodeURIComponent(id)}/progress`), [id], mine);
  const j = job.data;
  if (job.error && !j) return html`<section><h1>Job <code>${id}</code></h1><${ErrorNote} error=${job.error} /></section>`;
  if (!j) return html`<section class="muted">loading…</section>`;
  const path = `ojs/v1/admin/jobs/${encodeURIComponent(id)}`;
  const errors = j.errors ?? (j.error ? [j.error] : []);
  return html`<section>
    <h1>${j.type} <${Badge} state=${j.state} />${j.dead_letter ? html` <span class="badge s-discarded">dead letter</span>` : ""}</h1>
    <p class="muted"><code>${j.id}</code> on queue <a href=${`#/jobs?queue=${encodeURIComponent(j.queue)}`}>${j.queue}</a>
      ${j.workflow_id && html` · workflow <a href=${`#/workflows/${j.workflow_id}`}>${j.workflow_id.slice(-8)}</a>`}</p>
    <div class="actions">
      ${j.state === "discarded" && html`<${ActionButton} label="retry" name="retry" action=${() => api(`${path}/retry`, { method: "POST" }).then(() => "retried")} onDone=${job.reload} />`}
      ${!FINAL.has(j.state) && html`<${ActionButton} label="cancel" name="cancel" confirm="Cancel this job?" action=${() => api(`${path}/cancel`, { method: "POST" }).then(() => "cancelled")} onDone=${job.reload} />`}
      ${FINAL.has(j.state) && html`<${ActionButton} label="delete" name="delete" danger confirm="Delete this job for good?" action=${() => api(path, { method: "DELETE" }).then(() => "deleted")} onDone=${() => (location.hash = "#/jobs")} />`}
    </div>
    <${ErrorNote} error=${job.error} />
    <div class="grid2">
      <div class="panel">
        <h2>Details</h2>
        <dl class="kv">
          <dt>attempt</dt><dd data-field="attempt">${j.attempt} of ${j.max_attempts}</dd>
          <dt>priority</dt><dd>${j.priority}</dd>
          <dt>created</dt><dd>${time(j.created_at)}</dd>
          ${j.scheduled_at && html`<dt>scheduled</dt><dd>${time(j.scheduled_at)}</dd>`}
          ${j.started_at && html`<dt>started</dt><dd>${time(j.started_at)}</dd>`}
          ${j.completed_at && html`<dt>finished</dt><dd>${time(j.completed_at)}</dd>`}
          ${j.tags?.length ? html`<dt>tags</dt><dd>${j.tags.join(", ")}</dd>` : ""}
        </dl>
        <${Progress} p=${progress.data} />
      </div>
      <div class="panel"><h2>Timeline</h2><${Timeline} events=${events.data?.events} /></div>
    </div>
    <div class="grid2">
      <div class="panel"><h2>Args</h2><${Payload} name="args" value=${j.args} encoded=${j.args?.length === 1 && isEncoded(j.args[0]) ? j.args[0] : undefined} meta=${j.meta} /></div>
      <div class="panel"><h2>Result</h2><${Payload} name="result" value=${j.result} encoded=${isEncoded(j.result) ? j.result : undefined} meta=${j.result?.meta} /></div>
    </div>
    <div class="panel"><h2>Meta</h2><${Json} value=${j.meta} /></div>
    <div class="panel"><h2>Errors (${errors.length})</h2>
      ${errors.length ? errors.map((e) => html`<details class="job-error" open=${e === errors.at(-1)}>
        <summary>attempt ${e.attempt ?? "?"} · <code>${e.code ?? e.type}</code> ${e.message} <span class="muted">${time(e.occurred_at)}</span></summary>
        ${e.backtrace ? html`<pre class="backtrace">${Array.isArray(e.backtrace) ? e.backtrace.join("\n") : e.backtrace}</pre>` : html`<div class="muted">no backtrace</div>`}
      </details>`) : html`<div class="muted">none</div>`}
    </div>
    <div class="panel"><h2>Retry policy</h2><${Json} value=${j.retry} /></div>
  </section>`;
}

function Progress({ p }) {
  if (!p || p.progress === null || p.progress === undefined) return html`<p class="muted">no progress reported</p>`;
  const pct = Math.round(Math.min(1, Math.max(0, p.progress > 1 ? p.progress / 100 : p.progress)) * 100);
  return html`<div class="progress" data-progress=${pct}><div class="bar"><div class="fill" style=${{ width: `${pct}%` }}></div></div>
    <span>${pct}%${p.message ? ` · ${p.message}` : ""}</span></div>`;
}

function Timeline({ events }) {
  if (!events) return html`<div class="muted">loading…</div>`;
  if (!events.length) return html`<div class="muted">no events kept for this job</div>`;
  const sorted = [...events].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
  return html`<ol class="timeline">${sorted.map((e) => html`<li key=${e.id} class=${`t-${e.type.split(".").pop()}`}>
    <span class="muted">${new Date(e.time).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, fractionalSecondDigits: 3 })}</span>
    <code>${e.type}</code>
    <span class="muted">${detail(e.data)}</span>
  </li>`)}</ol>`;
}

function detail(d = {}) {
  const parts = [];
  if (d.attempt) parts.push(`attempt ${d.attempt}`);
  if (d.worker_id) parts.push(`worker ${d.worker_id.slice(-8)}`);
  if (d.error?.message) parts.push(d.error.message);
  if (d.delay_ms !== undefined) parts.push(`retry in ${d.delay_ms} ms`);
  return parts.join(" · ");
}
