// Workflows, newest first, and one workflow drawn as its graph with the
// state of each step.
import { api, qs } from "../api.js";
import { ActionButton, ago, Badge, ErrorNote, Pager, short, useData } from "../components/common.js";
import { WorkflowGraph } from "../components/graph.js";
import { html } from "../lib.js";
import { navigate } from "../router.js";

const PER_PAGE = 25;

export function Workflows({ query }) {
  const page = Number(query.get("page") ?? 1) || 1;
  const list = useData(() => api(`ojs/v1/admin/workflows${qs({ page, per_page: PER_PAGE })}`), [page], (ev) => Boolean(ev.type.startsWith("workflow.") || ev.data?.workflow_id));
  return html`<section>
    <h1>Workflows</h1>
    <${ErrorNote} error=${list.error} />
    ${list.data && (list.data.items.length
      ? html`<table><thead><tr><th>id</th><th>name</th><th>kind</th><th>state</th><th class="num">steps done</th><th>created</th></tr></thead>
        <tbody>${list.data.items.map((w) => html`<tr data-workflow=${w.id}>
          <td><a href=${`#/workflows/${w.id}`}><code>${short(w.id)}</code></a></td><td>${w.name}</td><td>${w.type ?? ""}</td>
          <td><${Badge} state=${w.state} /></td><td class="num">${w.steps_completed}/${w.steps_total}</td><td>${ago(w.created_at)}</td>
        </tr>`)}</tbody></table>
        <${Pager} page=${page} perPage=${PER_PAGE} total=${list.data.pagination.total} go=${(p) => navigate("workflows", { page: p })} />`
      : html`<div class="muted empty">no workflows</div>`)}
  </section>`;
}

export function WorkflowPage({ id }) {
  const wf = useData(() => api(`ojs/v1/workflows/${encodeURIComponent(id)}`), [id]);
  const w = wf.data?.workflow;
  if (!w) return html`<section><h1>Workflow</h1><${ErrorNote} error=${wf.error} />${!wf.error && html`<div class="muted">loading…</div>`}</section>`;
  return html`<section>
    <h1>${w.name} <${Badge} state=${w.state} /></h1>
    <p class="muted"><code>${w.id}</code> · ${w.type ?? "workflow"} · ${w.steps_completed} of ${w.steps_total} steps completed · created ${ago(w.created_at)}</p>
    ${w.state === "running" && html`<div class="actions"><${ActionButton} label="cancel workflow" name="cancel-workflow" confirm="Cancel this workflow?" action=${() => api(`ojs/v1/workflows/${encodeURIComponent(id)}`, { method: "DELETE" }).then(() => "cancelled")} onDone=${wf.reload} /></div>`}
    <div class="panel graph-panel"><${WorkflowGraph} workflow=${w} /></div>
    <table><thead><tr><th>step</th><th>type</th><th>depends on</th><th>state</th><th>job</th></tr></thead>
      <tbody>${w.steps.map((s) => html`<tr><td>${s.id}</td><td>${s.type}</td><td>${(s.depends_on ?? []).join(", ")}</td><td><${Badge} state=${s.state} /></td>
        <td>${s.job_id ? html`<a href=${`#/jobs/${s.job_id}`}><code>${short(s.job_id)}</code></a>` : ""}</td></tr>`)}</tbody></table>
  </section>`;
}
