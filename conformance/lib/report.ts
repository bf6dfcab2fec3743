/** The runner's text report: problem lines, a table per level and category, and the summary line. */
import { caseKey } from "./cases.js";
import type { CaseRun, Protocol } from "./suite.js";

export interface Totals {
  passed: number;
  total: number;
  notApplicable: number;
}

export function totals(runs: CaseRun[], protocol: Protocol): Totals {
  const mine = runs.filter((r) => r.protocol === protocol);
  const counted = mine.filter((r) => r.status !== "not_applicable" && r.status !== "unsupported");
  return {
    passed: counted.filter((r) => r.status === "pass" || r.status === "unexpected_pass").length,
    total: counted.length,
    notApplicable: mine.filter((r) => r.status === "not_applicable").length,
  };
}

export function summaryLine(runs: CaseRun[], protocols: Protocol[]): string {
  const parts = protocols.map((p) => {
    const t = totals(runs, p);
    return `${p} ${t.passed}/${t.total}`;
  });
  const na = protocols.includes("grpc") ? totals(runs, "grpc").notApplicable : 0;
  return `conformance: ${parts.join(", ")}${protocols.includes("grpc") ? ` (${na} not applicable)` : ""}`;
}

function clip(s: string, n = 160): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** One line per failing case (the first failed assertion, then how many more), known failures marked as such. */
export function problemLines(runs: CaseRun[]): string[] {
  const lines: string[] = [];
  const order = (r: CaseRun) => `${r.c.tc.test_id} ${r.protocol}`;
  for (const r of [...runs].sort((a, b) => order(a).localeCompare(order(b)))) {
    if (r.status !== "fail" && r.status !== "known_failure" && r.status !== "unexpected_pass" && r.status !== "unreadable") continue;
    const tag = r.status === "fail" ? "FAIL" : r.status === "known_failure" ? "KNOWN" : r.status === "unreadable" ? "UNREADABLE" : "UNEXPECTED PASS";
    if (r.status === "unexpected_pass") {
      lines.push(`${tag} ${r.protocol} ${caseKey(r.c)}: listed as a known failure but passed (${clip(r.reason ?? "")})`);
      continue;
    }
    const f = r.outcome?.failures[0];
    const more = (r.outcome?.failures.length ?? 0) > 1 ? ` (+${r.outcome!.failures.length - 1} more)` : "";
    const detail = f ? `[${f.step}] ${f.field}: expected ${clip(f.expected, 80)}, actual ${clip(f.actual, 80)} — ${clip(f.message, 120)}` : "";
    lines.push(`${tag} ${r.protocol} ${caseKey(r.c)} ${detail}${more}`);
    if (r.status === "known_failure" && r.reason) lines.push(`      why: ${clip(r.reason, 300)}`);
  }
  return lines;
}

function cell(runs: CaseRun[]): string {
  if (runs.length === 0) return "-";
  if (runs.every((r) => r.status === "unsupported")) return "unsupported";
  const counted = runs.filter((r) => r.status !== "not_applicable" && r.status !== "unsupported");
  const passed = counted.filter((r) => r.status === "pass" || r.status === "unexpected_pass").length;
  const na = runs.filter((r) => r.status === "not_applicable").length;
  return `${passed}/${counted.length}${na ? ` (${na} n/a)` : ""}`;
}

export function table(runs: CaseRun[], protocols: Protocol[]): string[] {
  const groups = new Map<string, CaseRun[]>();
  const label = (r: CaseRun) => `${r.c.level === "ext" ? "ext" : `L${r.c.level}`}\t${r.c.group}`;
  for (const r of runs) {
    const k = label(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const rows = [...groups.keys()].sort((a, b) => (a.startsWith("ext") ? 1 : 0) - (b.startsWith("ext") ? 1 : 0) || a.localeCompare(b));
  const head = ["level", "category", ...protocols];
  const body = rows.map((k) => {
    const [level, category] = k.split("\t") as [string, string];
    const rs = groups.get(k)!;
    return [level, category, ...protocols.map((p) => cell(rs.filter((r) => r.protocol === p)))];
  });
  const levels = [...new Set(rows.map((k) => k.split("\t")[0]!))];
  for (const level of levels) {
    const rs = runs.filter((r) => label(r).startsWith(`${level}\t`));
    body.push([level, "(all)", ...protocols.map((p) => cell(rs.filter((r) => r.protocol === p)))]);
  }
  body.sort((a, b) =>
    a[0] === b[0] ? (a[1] === "(all)" ? 1 : b[1] === "(all)" ? -1 : a[1]!.localeCompare(b[1]!)) : levels.indexOf(a[0]!) - levels.indexOf(b[0]!),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const fmt = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...body.map(fmt)];
}

export function unsupportedLines(runs: CaseRun[]): string[] {
  const byGroup = new Map<string, { n: number; reason: string }>();
  for (const r of runs) {
    if (r.status !== "unsupported" || r.protocol !== runs[0]!.protocol) continue;
    const e = byGroup.get(r.c.group) ?? { n: 0, reason: r.reason ?? "" };
    e.n++;
    byGroup.set(r.c.group, e);
  }
  return [...byGroup].map(([g, e]) => `unsupported extension ${g} (${e.n} cases): ${e.reason}`);
}

export function report(runs: CaseRun[], protocols: Protocol[], seconds: number): string {
  const lines = [...problemLines(runs), "", ...table(runs, protocols), "", ...unsupportedLines(runs)];
  lines.push(`took ${seconds.toFixed(1)} s`);
  lines.push(summaryLine(runs, protocols));
  return lines.join("\n");
}
