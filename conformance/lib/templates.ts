/**
 * Template references in paths, bodies and assertions:
 * `{{steps.<id>.response.body.<path>}}` reads an earlier step's response, and
 * `{{name}}` reads a value captured by an earlier step's `capture` map (an
 * extension-case feature the reference does not document). `${name}` is the
 * same reference in the spelling of the durable-execution suite. A reference that
 * does not resolve is left as it was, as the reference says.
 *
 * Resolution is structural: a JSON string that is exactly one reference becomes
 * the referenced value with its type (so "fetches": ["{{...jobs}}"] holds the
 * array itself); a reference inside longer text is interpolated, numbers
 * without a fraction as integers and objects as JSON.
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";
import { resolve } from "./jsonpath.js";

export interface TemplateContext {
  /** Parsed response bodies of the steps run so far, by step id. */
  bodies: ReadonlyMap<string, JsonValue | undefined>;
  /** Values captured so far, by name. */
  vars: ReadonlyMap<string, JsonValue>;
}

// `{{name}}`, or `${name}` as the durable-execution suite writes it: the same references.
const REF = /\{\{\s*([^{}]+?)\s*\}\}|\$\{\s*([^{}]+?)\s*\}/g;
const WHOLE = /^(?:\{\{\s*([^{}]+?)\s*\}\}|\$\{\s*([^{}]+?)\s*\})$/;
const STEP_REF = /^steps\.([^.]+)\.response\.body(?:\.(.+)|(\[.+))?$/;

/** The value a reference names, or undefined when it does not resolve. */
export function lookup(ref: string, ctx: TemplateContext): JsonValue | undefined {
  const m = STEP_REF.exec(ref);
  if (m) {
    if (!ctx.bodies.has(m[1]!)) return undefined;
    const body = ctx.bodies.get(m[1]!);
    const path = m[2] ?? m[3];
    const r = path === undefined ? { found: body !== undefined, value: body } : resolve(path.startsWith("[") ? `$${path}` : path, body);
    return r.found && r.value !== null ? r.value : undefined;
  }
  return ctx.vars.get(ref);
}

export function formatValue(v: JsonValue): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? v.toFixed(0) : String(v);
  return JSON.stringify(v);
}

export function interpolate(text: string, ctx: TemplateContext): string {
  return text.replace(REF, (whole: string, ref: string | undefined, dollar: string | undefined) => {
    const v = lookup((ref ?? dollar)!, ctx);
    return v === undefined ? whole : formatValue(v);
  });
}

/** Resolves every reference inside a JSON value (object keys included), returning a new value. */
export function resolveValue(v: JsonValue, ctx: TemplateContext): JsonValue {
  if (typeof v === "string") {
    const whole = WHOLE.exec(v);
    if (whole) {
      const hit = lookup((whole[1] ?? whole[2])!, ctx);
      return hit === undefined ? v : hit;
    }
    return v.includes("{{") || v.includes("${") ? interpolate(v, ctx) : v;
  }
  if (Array.isArray(v)) return v.map((x) => resolveValue(x, ctx));
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k.includes("{{") ? interpolate(k, ctx) : k] = resolveValue(x, ctx);
    return out;
  }
  return v;
}
