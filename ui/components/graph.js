// A workflow drawn as its graph: steps in columns by depth (the longest chain
// of dependencies before them), edges from each dependency, each step coloured
// by its state. Steps link to their job's page.
import { html } from "../lib.js";

const NODE_W = 150;
const NODE_H = 46;
const COL = 200;
const ROW = 66;

export function layout(steps) {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const depth = new Map();
  // Iterative longest-path depth (the server validated the graph: it has no cycles).
  const order = [...steps];
  for (let pass = 0; pass <= steps.length; pass++) {
    let changed = false;
    for (const s of order) {
      const d = Math.max(0, ...(s.depends_on ?? []).filter((p) => byId.has(p)).map((p) => (depth.get(p) ?? 0) + 1));
      if (depth.get(s.id) !== d) {
        depth.set(s.id, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const cols = [];
  for (const s of steps) (cols[depth.get(s.id)] ??= []).push(s);
  const pos = new Map();
  cols.forEach((col, c) => col.forEach((s, r) => pos.set(s.id, { x: 10 + c * COL, y: 10 + r * ROW })));
  const width = 20 + (cols.length - 1) * COL + NODE_W;
  const height = 20 + (Math.max(...cols.map((c) => c.length)) - 1) * ROW + NODE_H;
  return { pos, width, height };
}

export function WorkflowGraph({ workflow }) {
  const steps = workflow.steps ?? [];
  if (!steps.length) return html`<div class="muted">no steps</div>`;
  const { pos, width, height } = layout(steps);
  const edges = steps.flatMap((s) => (s.depends_on ?? []).filter((p) => pos.has(p)).map((p) => [pos.get(p), pos.get(s.id)]));
  return html`<svg class="graph" viewBox=${`0 0 ${width} ${height}`} width=${width} height=${height} role="img" aria-label=${`graph of workflow ${workflow.name}`}>
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" class="arrow" /></marker></defs>
    ${edges.map(([a, b]) => {
      const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, mx = (x1 + x2) / 2;
      return html`<path class="edge" d=${`M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`} marker-end="url(#arrow)" />`;
    })}
    ${steps.map((s) => {
      const p = pos.get(s.id);
      const node = html`<g class=${`node n-${s.state}`} data-step=${s.id} data-state=${s.state}>
        <rect x=${p.x} y=${p.y} width=${NODE_W} height=${NODE_H} rx="8" />
        <text x=${p.x + 10} y=${p.y + 19} class="node-type">${s.type.length > 20 ? `${s.type.slice(0, 19)}…` : s.type}</text>
        <text x=${p.x + 10} y=${p.y + 36} class="node-state">${s.id} · ${s.state}</text>
      </g>`;
      return s.job_id ? html`<a href=${`#/jobs/${s.job_id}`}>${node}</a>` : node;
    })}
  </svg>`;
}
