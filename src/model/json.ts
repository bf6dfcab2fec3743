/** Any value that survives JSON.stringify/JSON.parse unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object: string keys, JSON values. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Returns a description of the first place where `value` is not plain JSON, or
 * undefined when it is. Checked iteratively so that deep args cannot overflow
 * the stack, and with a seen-set so that cycles are reported instead of looping.
 */
export function findNonJson(value: unknown, path = "$"): string | undefined {
  // The common answer ("it is fine") without allocating; the path is worked out only for a failure.
  if (isPlainJson(value, 0)) return undefined;
  return describeNonJson(value, path);
}

const MAX_FAST_DEPTH = 256;

/** Allocation-free check. Too deep (or cyclic) counts as "not sure": the full walk decides. */
function isPlainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      if (depth >= MAX_FAST_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isPlainJson(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) if (!isPlainJson((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

function describeNonJson(value: unknown, path: string): string | undefined {
  const stack: Array<[unknown, string]> = [[value, path]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, p] = stack.pop()!;
    switch (typeof v) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (!Number.isFinite(v)) return `${p} is ${v}, which JSON cannot carry`;
        continue;
      case "object": {
        if (v === null) continue;
        if (seen.has(v)) return `${p} is a circular reference`;
        seen.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) stack.push([v[i], `${p}[${i}]`]);
          continue;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          const name = (v as { constructor?: { name?: string } }).constructor?.name ?? "object";
          return `${p} is a ${name}, not a plain JSON object`;
        }
        for (const [k, child] of Object.entries(v)) stack.push([child, `${p}.${k}`]);
        continue;
      }
      default:
        return `${p} is ${typeof v === "undefined" ? "undefined" : `a ${typeof v}`}, which JSON cannot carry`;
    }
  }
  return undefined;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
