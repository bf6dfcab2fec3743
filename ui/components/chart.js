// Throughput over time as an inline SVG: processed and failed jobs per
// period, as two lines over a light grid, with the peak labelled.
import { html } from "../lib.js";

const W = 1200;
const H = 190;
const PAD = { l: 36, r: 8, t: 10, b: 22 };

export function ThroughputChart({ points }) {
  if (!points?.length) return html`<div class="muted">no history yet</div>`;
  const max = Math.max(1, ...points.map((p) => Math.max(p.processed, p.failed)));
  const x = (i) => PAD.l + (i * (W - PAD.l - PAD.r)) / Math.max(1, points.length - 1);
  const y = (v) => H - PAD.b - (v * (H - PAD.t - PAD.b)) / max;
  const line = (key) => points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join("");
  const area = `${line("processed")}L${x(points.length - 1)},${y(0)}L${x(0)},${y(0)}Z`;
  const label = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  const ticks = [0, Math.floor(points.length / 2), points.length - 1];
  return html`<svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label="throughput over time">
    ${[0, 0.5, 1].map((f) => html`<g>
      <line x1=${PAD.l} x2=${W - PAD.r} y1=${y(max * f)} y2=${y(max * f)} class="grid" />
      <text x=${PAD.l - 6} y=${y(max * f) + 4} class="axis" text-anchor="end">${Math.round(max * f)}</text>
    </g>`)}
    ${ticks.map((i, n) => html`<text x=${x(i)} y=${H - 6} class="axis" text-anchor=${["start", "middle", "end"][n]}>${label(points[i].timestamp)}</text>`)}
    <path d=${area} class="area-processed" />
    <path d=${line("processed")} class="line-processed" />
    <path d=${line("failed")} class="line-failed" />
  </svg>
  <div class="legend"><span class="key processed"></span>processed <span class="key failed"></span>failed (per ${points.length > 1 ? "minute" : "period"})</div>`;
}
