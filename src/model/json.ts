/** Any value that survives JSON.stringify/JSON.parse unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/**
 * Returns a description of the first place where `value` is not plain JSON, or
 * undefined when it is. Checked iteratively so that deep args cannot overflow
 * the stack, and with a seen-set so that cycles are reported instead of looping.
 */
export function findNonJson(value: unknown, path = "$"): string | undefined {
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
