/** Conformance case files: their shape, and loading them from a suites directory. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/model/json.js";

export interface Step {
  id: string;
  action: string;
  intent?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: JsonValue;
  /** Text sent verbatim as the body (a case that sends unparsable JSON on purpose). */
  raw_body?: string;
  delay_ms?: number;
  duration_ms?: number;
  description?: string;
  assertions?: JsonObject;
  /** Runs at the same time as the named step. */
  parallel_with?: string;
  /** Sends the step this many times; the assertions apply to each. */
  repeat?: number;
  /** Names for values of the response ({name: "$.path"}), referenced later as {{name}}. */
  capture?: Record<string, string>;
  captures?: Record<string, string>;
}

export interface TestCase {
  test_id: string;
  level: number | string;
  category: string;
  name: string;
  description?: string;
  spec_ref?: string;
  tags?: string[];
  setup?: { steps?: Step[] };
  steps: Step[];
  teardown?: { steps?: Step[] };
}

export interface LoadedCase {
  tc: TestCase;
  file: string;
  /** First directory under the suites root, e.g. "level-1-reliable" or "ext-progress". */
  suite: string;
  /** "0".."4" for level suites, "ext" for extension suites (whatever level the file claims). */
  level: string;
  /** Extension suites are optional; level suites are the conformance claim. */
  extension: boolean;
  /** The extension's name for ext suites ("progress"), else the case's category. */
  group: string;
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".json")) out.push(p);
  }
}

export function loadCases(root: string): LoadedCase[] {
  const files: string[] = [];
  walk(root, files);
  const out: LoadedCase[] = [];
  for (const file of files) {
    const raw = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (!isJsonObject(raw) || typeof raw.test_id !== "string" || !Array.isArray(raw.steps)) throw new Error(`${file}: not a conformance case`);
    const tc = raw as unknown as TestCase;
    const suite = relative(root, file).split(sep)[0] ?? "";
    const extension = suite.startsWith("ext-") || String(tc.level).startsWith("ext");
    const group = extension ? (suite.startsWith("ext-") ? suite.slice(4) : tc.category.replace(/^ext-/, "")) : tc.category;
    out.push({ tc, file, suite, level: extension ? "ext" : String(tc.level), extension, group });
  }
  return out.sort((a, b) => a.tc.test_id.localeCompare(b.tc.test_id) || a.file.localeCompare(b.file));
}

/** Case ids are not unique across files (two "L0-OPS-019"); the file name disambiguates. */
export function caseKey(c: LoadedCase): string {
  return `${c.tc.test_id} ${c.tc.name}`;
}
