/**
 * Constructor option checks shared by Client, Worker and the transports: a
 * mistake in an options object fails at construction, naming the key, rather
 * than at the first call (or never, for a key that is silently ignored).
 */
import { ValidationError } from "../model/errors.js";
import { unknownKeyMessage } from "./did-you-mean.js";

/**
 * Every key of T, as a value. Written as `{ key: true, ... }` so the compiler
 * fails when an option is added to the interface but not to its list.
 */
export type KeyList<T> = { [K in keyof Required<T>]: true };

/** Throws a ValidationError for the first own key of `opts` that `known` lacks. */
export function checkOptionKeys<T>(opts: unknown, known: KeyList<T>, where: string): void {
  if (opts === undefined) return;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts))
    throw new ValidationError(`${where}: options must be an object`, { issues: [{ path: "options", message: "must be an object" }] });
  const names = Object.keys(known);
  for (const key of Object.keys(opts)) {
    if (Object.hasOwn(known, key)) continue;
    const message = unknownKeyMessage(key, names);
    throw new ValidationError(`${where}: ${message}`, { issues: [{ path: key, message }] });
  }
}

/** Throws a ValidationError unless `url` is an absolute http: or https: URL. */
export function checkHttpUrl(url: unknown, path = "url"): URL {
  const fail = (why: string) => new ValidationError(`${path}: ${why}`, { issues: [{ path, message: why }] });
  if (typeof url !== "string" || url === "") throw fail(`must be an http:// or https:// URL, got ${url === "" ? "an empty string" : typeof url}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fail(`"${url}" is not a valid URL (expected e.g. "http://localhost:8080")`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw fail(`"${url}" must start with http:// or https:// (got "${u.protocol}")`);
  return u;
}
