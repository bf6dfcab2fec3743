// Cron schedules: expression, time zone, what each enqueues, its next runs
// (the server's next one, and the ones after it worked out here with the same
// cron library the server uses), and how often it ran.
import { Cron } from "croner";
import { api } from "../api.js";
import { ago, ErrorNote, time, useData } from "../components/common.js";
import { html } from "../lib.js";

const NEXT = 5;

export function nextRuns(expression, timezone, count = NEXT) {
  try {
    return new Cron(expression, { timezone, paused: true }).nextRuns(count);
  } catch {
    return [];
  }
}

export function CronPage() {
  const crons = useData(() => api("ojs/v1/cron"), [], (ev) => ev.type.startsWith("cron."));
  const list = crons.data?.crons ?? [];
  return html`<section>
    <h1>Cron schedules</h1>
    <${ErrorNote} error=${crons.error} />
    ${crons.data && (list.length
      ? html`<table class="crons"><thead><tr><th>name</th><th>schedule</th><th>enqueues</th><th>next run</th><th>runs after that</th><th class="num">runs</th><th>last run</th></tr></thead>
        <tbody>${list.map((c) => {
          const runs = nextRuns(c.expression, c.timezone);
          return html`<tr data-cron=${c.name}>
            <td>${c.name}${c.enabled === false ? html` <span class="badge s-paused">disabled</span>` : ""}</td>
            <td><code>${c.expression}</code> <span class="muted">${c.timezone ?? "UTC"}</span></td>
            <td>${c.job_template?.type} <span class="muted">on ${c.job_template?.options?.queue ?? "default"}</span></td>
            <td data-next-run>${c.next_run_at ? html`${time(c.next_run_at)} <span class="muted">(${ago(c.next_run_at)})</span>` : "—"}</td>
            <td class="muted small">${runs.slice(1).map((d) => html`<div>${time(d.toISOString())}</div>`)}</td>
            <td class="num">${c.run_count ?? 0}</td>
            <td>${c.last_run_at ? ago(c.last_run_at) : "never"}</td>
          </tr>`;
        })}</tbody></table>`
      : html`<div class="muted empty">no cron schedules</div>`)}
  </section>`;
}
