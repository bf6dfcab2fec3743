// Jobs by state, queue and type (exact or "prefix.*"), newest first, in pages;
// a dead-letter view with its bulk retry; a box to open a job by id.
import { api, qs } from "../api.js";
import { ActionButton, ago, Badge, ErrorNote, Pager, STATES, short, useData } from "../components/common.js";
import { html, useState } from "../lib.js";
import { navigate } from "../router.js";

const PER_PAGE = 25;

export function Jobs({ query }) {
  const filter = {
    state: query.get("state") ?? "",
    queue: query.get("queue") ?? "",
    type: query.get("type") ?? "",
    dead_letter: query.get("dead_letter") === "true",
  };
  const page = Number(query.get("page") ?? 1) || 1;
  const key = JSON.stringify([filter, page]);
  const jobs = useData(() => api(`ojs/v1/admin/jobs${qs({ ...filter, page, per_page: PER_PAGE })}`), [key], (ev) => ev.type.startsWith("job."));
  const queues = useData(() => api("ojs/v1/admin/queues?per_page=100"), []);
  const set = (patch) => navigate("jobs", { ...filter, page: 1, ...patch });
  const [idBox, setIdBox] = useState("");
  return html`<section>
    <h1>${filter.dead_letter ? "Dead-letter queue" : "Jobs"}</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>state <select name="state" value=${filter.state} onChange=${(e) => set({ state: e.target.value })}>
        <option value="">any</option>${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>queue <select name="queue" value=${filter.queue} onChange=${(e) => set({ queue: e.target.value })}>
        <option value="">any</option>${(queues.data?.items ?? []).map((q) => html`<option value=${q.name}>${q.name}</option>`)}
      </select></label>
      <label>type <input name="type" placeholder="email.* or email.send" value=${filter.type} onChange=${(e) => set({ type: e.target.value.trim() })} /></label>
      <label><input type="checkbox" name="dead_letter" checked=${filter.dead_letter} onChange=${(e) => set({ dead_letter: e.target.checked })} /> dead letter only</label>
      <span class="spacer"></span>
      <label>job id <input name="id" value=${idBox} onInput=${(e) => setIdBox(e.target.value)} onKeyDown=${(e) => e.key === "Enter" && idBox.trim() && (location.hash = `#/jobs/${idBox.trim()}`)} /></label>
    </form>
    ${filter.dead_letter && html`<p class="bulk">
      <${ActionButton} label="retry all dead-letter jobs${filter.queue ? ` of ${filter.queue}` : ""}" name="bulk-retry" danger
        confirm=${`Retry every dead-letter job${filter.queue ? ` of queue ${filter.queue}` : ""} (up to 1000 a click)?`}
        action=${async () => {
          const r = await api("ojs/v1/admin/jobs/bulk/retry", { method: "POST", body: { filter: { dead_letter: true, ...(filter.queue ? { queue: filter.queue } : {}) }, confirm: true } });
          return `retried ${r.succeeded} of ${r.matched}${r.failed ? `, ${r.failed} failed` : ""}${r.remaining ? `, ${r.remaining} left` : ""}`;
        }}
        onDone=${jobs.reload} />
    </p>`}
    <${ErrorNote} error=${jobs.error} />
    ${jobs.data && html`<${JobTable} jobs=${jobs.data.items} />
      <${Pager} page=${page} perPage=${PER_PAGE} total=${jobs.data.pagination.total} go=${(p) => navigate("jobs", { ...filter, page: p })} />`}
  </section>`;
}

function JobTable({ jobs }) {
  if (!jobs.length) return html`<div class="muted empty">no jobs match</div>`;
  return html`<table class="jobs">
    <thead><tr><th>id</th><th>type</th><th>queue</th><th>state</th><th class="num">attempt</th><th>created</th><th>last error</th></tr></thead>
    <tbody>${jobs.map((j) => html`<tr key=${j.id} data-job=${j.id}>
      <td><a href=${`#/jobs/${j.id}`} title=${j.id}><code>${short(j.id)}</code></a></td>
      <td>${j.type}</td>
      <td>${j.queue}</td>
      <td><${Badge} state=${j.state} />${j.dead_letter ? html` <span class="badge s-discarded">DLQ</span>` : ""}</td>
      <td class="num">${j.attempt}/${j.max_attempts}</td>
      <td title=${j.created_at}>${ago(j.created_at)}</td>
      <td class="err">${j.error?.message ?? ""}</td>
    </tr>`)}</tbody>
  </table>`;
}
