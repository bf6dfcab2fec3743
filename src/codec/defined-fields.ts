import type { JsonObject, JsonValue } from "../model/json.js";

/**
 * How a model field goes to JSON: under another name as it is, or converted.
 * The table's author vouches that a field written as is is already JSON.
 */
export type JsonFieldsOut<T> = { readonly [K in keyof T]?: string | readonly [name: string, convert: (v: NonNullable<T[K]>) => JsonValue] };

/**
 * Writes each field of `from` that is set (not undefined) into `into` under
 * its JSON name, so that the many "if set, copy under the snake_case name"
 * conversions are one table each instead of a run of ifs.
 */
export function putDefined<T extends object>(into: JsonObject, from: T, fields: JsonFieldsOut<T>): JsonObject {
  for (const key in fields) {
    const v = from[key];
    if (v === undefined) continue;
    const f = fields[key] as string | readonly [string, (v: unknown) => JsonValue];
    if (typeof f === "string") into[f] = v as JsonValue;
    else into[f[0]] = f[1](v);
  }
  return into;
}
