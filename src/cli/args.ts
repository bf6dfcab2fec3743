/** Parsing of argument values shared by commands; every failure is a UsageError naming the flag. */
import type { JsonObject, JsonValue } from "../model/json.js";
import { isJsonObject } from "../model/json.js";
import { UsageError } from "./output.js";

export function jsonArray(flag: string, text: string): JsonValue[] {
  const v = parseJson(flag, text);
  if (!Array.isArray(v)) throw new UsageError(`${flag}: must be a JSON array, e.g. '["a", 1]', got ${text}`);
  return v;
}

export function jsonObject(flag: string, text: string): JsonObject {
  const v = parseJson(flag, text);
  if (!isJsonObject(v)) throw new UsageError(`${flag}: must be a JSON object, e.g. '{"k": "v"}', got ${text}`);
  return v;
}

function parseJson(flag: string, text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new UsageError(`${flag}: not JSON (${(e as Error).message})`);
  }
}

/** A whole number within bounds. */
export function integer(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag}: must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up"}, got ${text}`);
  return n;
}
