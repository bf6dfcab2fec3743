/**
 * The JSONPath subset the conformance cases use: `$.a.b`, `[0]` (also on an
 * object with key "0", which is how parent_results is keyed), chained `[0][1]`,
 * `[*]` (collects the rest of the path over every element, skipping misses),
 * `['key']`, and the filter `[?(@.key=='value')]` (first match only, compared
 * as text). Template paths ("job.id", no "$") use the same grammar.
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";

export type Segment = { kind: "key"; key: string } | { kind: "index"; index: number } | { kind: "wildcard" } | { kind: "filter"; key: string; value: string };

export interface Resolved {
  found: boolean;
  value: JsonValue | undefined;
}

export class JsonPathError extends Error {
  override name = "JsonPathError";
}

export function parsePath(path: string): Segment[] {
  let p = path.trim();
  if (p === "$") return [];
  if (p.startsWith("$.")) p = p.slice(2);
  else if (p.startsWith("$[")) p = p.slice(1);
  else if (p.startsWith("$")) p = p.slice(1);
  const out: Segment[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === ".") {
      i++;
      continue;
    }
    if (c === "[") {
      const close = findClose(p, i);
      const inner = p.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === "*") out.push({ kind: "wildcard" });
      else if (/^-?\d+$/.test(inner)) out.push({ kind: "index", index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) out.push({ kind: "key", key: inner.slice(1, -1) });
      else if (inner.startsWith("?(") && inner.endsWith(")")) out.push(parseFilter(inner.slice(2, -1), path));
      else throw new JsonPathError(`unsupported bracket expression [${inner}] in ${path}`);
      continue;
    }
    let j = i;
    while (j < p.length && p[j] !== "." && p[j] !== "[") j++;
    out.push({ kind: "key", key: p.slice(i, j) });
    i = j;
  }
  return out;
}

/** The matching "]", skipping brackets and quotes inside a filter such as [?(@.a=='x]')]. */
function findClose(p: string, open: number): number {
  let quote: string | undefined;
  let depth = 0;
  for (let k = open; k < p.length; k++) {
    const ch = p[k]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "[") depth++;
    else if (ch === "]" && --depth === 0) return k;
  }
  throw new JsonPathError(`unclosed "[" in ${p}`);
}

function parseFilter(expr: string, path: string): Segment {
  const m = /^@\.([^=!<>\s]+)\s*==\s*(.+)$/.exec(expr.trim());
  if (!m) throw new JsonPathError(`only [?(@.key==value)] filters are supported, got ${expr} in ${path}`);
  let value = m[2]!.trim();
  if (/^'.*'$|^".*"$/.test(value)) value = value.slice(1, -1);
  return { kind: "filter", key: m[1]!, value };
}

/** How an element compares in a filter or a contains matcher: text, as the reference runner prints values. */
export function asText(v: JsonValue | undefined): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  if (v === null) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export function resolve(path: string, data: JsonValue | undefined): Resolved {
  return walk(parsePath(path), 0, data);
}

function walk(segs: Segment[], i: number, cur: JsonValue | undefined): Resolved {
  if (cur === undefined) return { found: false, value: undefined };
  if (i === segs.length) return { found: true, value: cur };
  const s = segs[i]!;
  switch (s.kind) {
    case "key": {
      if (!isJsonObject(cur)) return { found: false, value: undefined };
      if (Object.prototype.hasOwnProperty.call(cur, s.key)) return walk(segs, i + 1, cur[s.key]);
      const dotted = dottedKey(segs, i, cur);
      if (dotted) return walk(segs, dotted.next, cur[dotted.key]);
      return { found: false, value: undefined };
    }
    case "index": {
      if (Array.isArray(cur)) {
        const idx = s.index < 0 ? cur.length + s.index : s.index;
        if (idx < 0 || idx >= cur.length) return { found: false, value: undefined };
        return walk(segs, i + 1, cur[idx]);
      }
      // Objects keyed by position ("0", "1"...), as parent_results is, are indexed the same way.
      const key = String(s.index);
      if (isJsonObject(cur) && Object.prototype.hasOwnProperty.call(cur, key)) return walk(segs, i + 1, cur[key]);
      return { found: false, value: undefined };
    }
    case "wildcard": {
      const items = Array.isArray(cur) ? cur : isJsonObject(cur) ? Object.values(cur) : undefined;
      if (!items) return { found: false, value: undefined };
      const out: JsonValue[] = [];
      for (const item of items) {
        const r = walk(segs, i + 1, item);
        if (r.found && r.value !== undefined) out.push(r.value);
      }
      return { found: true, value: out };
    }
    case "filter": {
      if (!Array.isArray(cur)) return { found: false, value: undefined };
      const hit = cur.find((item) => isJsonObject(item) && Object.prototype.hasOwnProperty.call(item, s.key) && asText(item[s.key]) === s.value);
      if (hit === undefined) return { found: false, value: undefined };
      return walk(segs, i + 1, hit);
    }
  }
}

/**
 * A flat key with dots in it, read through a dotted path: the encryption cases
 * send meta keys such as "ojs.codec.encodings" (the spec's own spelling, ENC
 * §5.3) and assert them as `$.job.meta.ojs.codec.encodings[0]`. When the next
 * key is missing, the longest run of keys that, joined by ".", names a key of
 * the object is taken instead (a nested object of that name always wins).
 */
function dottedKey(segs: Segment[], i: number, cur: JsonObject): { key: string; next: number } | undefined {
  let end = i;
  while (end < segs.length && segs[end]!.kind === "key") end++;
  for (let j = end; j > i + 1; j--) {
    const key = segs
      .slice(i, j)
      .map((s) => (s as { key: string }).key)
      .join(".");
    if (Object.prototype.hasOwnProperty.call(cur, key)) return { key, next: j };
  }
  return undefined;
}

/** Whether JSONPath `a` names `b`, something inside it, or something containing it. */
function overlaps(a: string, b: string): boolean {
  if (a === b || a === "$" || b === "$") return true;
  const inside = (x: string, y: string) => x.startsWith(`${y}.`) || x.startsWith(`${y}[`);
  return inside(a, b) || inside(b, a);
}

/**
 * Whether a step's assertions look at any of `paths` of the response body
 * (directly, through an enclosing object, in a top-level $or, as an absent
 * field, or through the raw text that body_contains reads).
 */
export function touchesPaths(assertions: JsonObject, paths: readonly string[]): boolean {
  if (assertions.body_contains !== undefined) return true;
  const absent = Array.isArray(assertions.body_absent) ? assertions.body_absent : [];
  if (absent.some((p) => typeof p === "string" && paths.some((q) => overlaps(p, q)))) return true;
  const body = (b: JsonValue | undefined): boolean => {
    if (!isJsonObject(b)) return false;
    return Object.entries(b).some(([k, v]) => {
      if (k === "$or") return Array.isArray(v) && v.some(body);
      if (k === "$empty") return true;
      return paths.some((q) => overlaps(k, q));
    });
  };
  return body(assertions.body);
}
