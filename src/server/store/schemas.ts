/**
 * The schema-registry extension (SR): JSON Schemas for a job type's args, by
 * version, and the check of enqueued args against them. The validator covers
 * the JSON Schema keywords that describe plain data (type, enum, const,
 * properties, required, additionalProperties, items / prefixItems, lengths,
 * bounds, pattern, allOf / anyOf / oneOf / not); keywords it does not know are
 * ignored, as the JSON Schema spec says unknown keywords must be.
 */
import { ConflictError, NotFoundError, ValidationError } from "../../model/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { canonicalJson } from "./unique.js";

export type SchemaVersion = number | string;

export interface SchemaRecord {
  type: string;
  version: SchemaVersion;
  schema: JsonObject;
  createdAt: Date;
}

export type SchemaValidationMode = "off" | "warn" | "strict";

const MAX_TYPES = 10_000;
const MAX_VERSIONS = 100;

/** Numbers compare numerically; strings as dotted versions ("1.10.0" > "1.9.2"), with a leading "v" ignored. */
export function compareVersions(a: SchemaVersion, b: SchemaVersion): number {
  const parts = (v: SchemaVersion) =>
    String(v)
      .replace(/^v/i, "")
      .split(/[.\-+]/);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

/** A path segment "1" from a URL is the number 1, so "PUT .../1" and {"version": 1} name the same version. */
export function parseVersion(v: unknown): SchemaVersion | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v !== "string" || v === "" || v.length > 64) return undefined;
  return /^\d+$/.test(v) ? Number(v) : v;
}

export class SchemaRegistry {
  private byType = new Map<string, Map<string, SchemaRecord>>();
  /** Told about every registration and deletion (for a durable store). */
  onChange: ((type: string, version: SchemaVersion) => void) | undefined;

  register(type: string, version: SchemaVersion, schema: JsonObject, now: Date): SchemaRecord {
    if (!type) throw new ValidationError("type: must be a non-empty job type", { issues: [{ path: "type", message: "required" }] });
    let versions = this.byType.get(type);
    if (!versions) {
      if (this.byType.size >= MAX_TYPES) throw new ValidationError(`at most ${MAX_TYPES} job types can have schemas`);
      this.byType.set(type, (versions = new Map()));
    }
    const key = String(version);
    if (versions.has(key)) throw new ConflictError(`schema ${type} version ${key} is already registered`, { code: "duplicate" });
    if (versions.size >= MAX_VERSIONS) throw new ValidationError(`at most ${MAX_VERSIONS} versions per job type`);
    const rec: SchemaRecord = { type, version, schema, createdAt: now };
    versions.set(key, rec);
    this.onChange?.(type, version);
    return rec;
  }

  get(type: string, version?: SchemaVersion): SchemaRecord {
    const versions = this.byType.get(type);
    const rec = version === undefined ? this.latestOf(versions) : versions?.get(String(version));
    if (!rec) throw new NotFoundError(version === undefined ? `no schema registered for ${type}` : `schema ${type} version ${version} not found`);
    return rec;
  }

  /** Newest first (SR §4). */
  versions(type: string): SchemaRecord[] {
    return [...(this.byType.get(type)?.values() ?? [])].sort((a, b) => compareVersions(b.version, a.version));
  }

  list(): SchemaRecord[] {
    const out: SchemaRecord[] = [];
    for (const t of [...this.byType.keys()].sort()) out.push(...this.versions(t));
    return out;
  }

  delete(type: string, version: SchemaVersion): void {
    const versions = this.byType.get(type);
    if (!versions?.delete(String(version))) throw new NotFoundError(`schema ${type} version ${version} not found`);
    if (versions.size === 0) this.byType.delete(type);
    this.onChange?.(type, version);
  }

  /**
   * The schema a job's args answer to: the one it names (`type@version`,
   * `urn:ojs:schema:type:vN`, or a bare version), else the latest for its type.
   */
  resolve(jobType: string, named: string | undefined): SchemaRecord | undefined {
    if (named) {
      const urn = /^urn:ojs:schema:(.+):v?([^:]+)$/.exec(named);
      const at = /^(.+)@(.+)$/.exec(named);
      const [type, version] = urn ? [urn[1]!, urn[2]!] : at ? [at[1]!, at[2]!] : [jobType, named];
      return this.byType.get(type)?.get(String(parseVersion(version) ?? version));
    }
    return this.latestOf(this.byType.get(jobType));
  }

  /** For a durable store: one version as it is now, undefined once deleted. */
  peek(type: string, version: SchemaVersion): SchemaRecord | undefined {
    return this.byType.get(type)?.get(String(version));
  }

  clear(): void {
    this.byType.clear();
  }

  private latestOf(versions: Map<string, SchemaRecord> | undefined): SchemaRecord | undefined {
    let best: SchemaRecord | undefined;
    for (const r of versions?.values() ?? []) if (!best || compareVersions(r.version, best.version) > 0) best = r;
    return best;
  }
}

function typeOf(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(v: JsonValue, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === "number" && actual === "integer");
}

const MAX_ISSUES = 20;

/** Validates `value` against a schema; returns "path: problem" lines, empty when valid. */
export function validateJsonSchema(schema: JsonValue, value: JsonValue, path = "args"): string[] {
  const issues: string[] = [];
  check(schema, value, path, issues, 0);
  return issues.slice(0, MAX_ISSUES);
}

function check(schema: JsonValue, v: JsonValue, path: string, out: string[], depth: number): void {
  if (out.length >= MAX_ISSUES || depth > 64) return;
  if (schema === false) {
    out.push(`${path}: no value is allowed here`);
    return;
  }
  if (!isJsonObject(schema)) return;
  const s = schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type.map(String) : [String(s.type)];
    if (!types.some((t) => typeMatches(v, t))) {
      out.push(`${path}: must be ${types.join(" or ")}, got ${typeOf(v)}`);
      return;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => canonicalJson(e) === canonicalJson(v))) out.push(`${path}: must be one of ${JSON.stringify(s.enum)}`);
  if (s.const !== undefined && canonicalJson(s.const) !== canonicalJson(v)) out.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) out.push(`${path}: must be >= ${s.minimum}`);
    if (typeof s.maximum === "number" && v > s.maximum) out.push(`${path}: must be <= ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum) out.push(`${path}: must be > ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === "number" && v >= s.exclusiveMaximum) out.push(`${path}: must be < ${s.exclusiveMaximum}`);
    if (typeof s.multipleOf === "number" && s.multipleOf > 0 && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9)
      out.push(`${path}: must be a multiple of ${s.multipleOf}`);
  }
  if (typeof v === "string") {
    const len = [...v].length;
    if (typeof s.minLength === "number" && len < s.minLength) out.push(`${path}: must have at least ${s.minLength} characters`);
    if (typeof s.maxLength === "number" && len > s.maxLength) out.push(`${path}: must have at most ${s.maxLength} characters`);
    if (typeof s.pattern === "string") {
      let re: RegExp | undefined;
      try {
        re = new RegExp(s.pattern, "u");
      } catch {
        re = undefined;
      }
      if (re && !re.test(v)) out.push(`${path}: must match ${s.pattern}`);
    }
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems) out.push(`${path}: must have at least ${s.minItems} items`);
    if (typeof s.maxItems === "number" && v.length > s.maxItems) out.push(`${path}: must have at most ${s.maxItems} items`);
    // Draft 2020-12 tuples are prefixItems; the older array form of items means the same.
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : [];
    prefix.forEach((sub, i) => {
      if (i < v.length) check(sub, v[i]!, `${path}[${i}]`, out, depth + 1);
    });
    const rest = Array.isArray(s.items) ? s.additionalItems : s.items;
    if (rest !== undefined) for (let i = prefix.length; i < v.length; i++) check(rest, v[i]!, `${path}[${i}]`, out, depth + 1);
    if (s.uniqueItems === true && new Set(v.map(canonicalJson)).size !== v.length) out.push(`${path}: items must be unique`);
  }
  if (isJsonObject(v)) {
    const props = isJsonObject(s.properties) ? s.properties : {};
    if (Array.isArray(s.required)) for (const k of s.required) if (typeof k === "string" && !(k in v)) out.push(`${path}.${k}: is required`);
    for (const [k, sub] of Object.entries(props)) if (k in v) check(sub, v[k]!, `${path}.${k}`, out, depth + 1);
    if (s.additionalProperties !== undefined) {
      for (const k of Object.keys(v)) {
        if (k in props) continue;
        if (s.additionalProperties === false) out.push(`${path}.${k}: is not allowed`);
        else check(s.additionalProperties, v[k]!, `${path}.${k}`, out, depth + 1);
      }
    }
    if (typeof s.minProperties === "number" && Object.keys(v).length < s.minProperties) out.push(`${path}: must have at least ${s.minProperties} properties`);
    if (typeof s.maxProperties === "number" && Object.keys(v).length > s.maxProperties) out.push(`${path}: must have at most ${s.maxProperties} properties`);
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) check(sub, v, path, out, depth + 1);
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => validateJsonSchema(sub, v, path).length === 0)) out.push(`${path}: must match at least one of anyOf`);
  if (Array.isArray(s.oneOf) && s.oneOf.filter((sub) => validateJsonSchema(sub, v, path).length === 0).length !== 1)
    out.push(`${path}: must match exactly one of oneOf`);
  if (s.not !== undefined && validateJsonSchema(s.not, v, path).length === 0) out.push(`${path}: must not match the "not" schema`);
}
