/**
 * Query strings and pages of the HTTP binding: what both our server and the
 * official ones understand.
 */
import { requestToJson } from "../../codec/json.js";
import { isJsonObject, type JsonObject } from "../../model/json.js";
import type { Page } from "../../model/system.js";
import type { CronRequest, PageRequest } from "../transport.js";

/**
 * Page parameters for both pagination styles in use: our `cursor`, and the
 * official servers' `offset` (our cursors are offsets, so one value serves both).
 */
export function pageQuery(page: PageRequest, queue?: string): string {
  const offset = page.cursor !== undefined && /^\d+$/.test(page.cursor) ? page.cursor : undefined;
  return query({ queue, limit: page.limit, cursor: page.cursor, offset });
}

/** Reads `next_cursor`/`total_count`, or the official servers' `pagination: {total, has_more, offset, limit}`. */
export function pageOf<T>(b: JsonObject, items: T[]): Page<T> {
  const out: Page<T> = { items };
  const p = isJsonObject(b.pagination) ? b.pagination : undefined;
  if (typeof b.next_cursor === "string" && b.next_cursor) out.nextCursor = b.next_cursor;
  else if (p?.has_more === true && typeof p.offset === "number") out.nextCursor = String(p.offset + (typeof p.limit === "number" ? p.limit : items.length));
  const total = b.total_count ?? b.total ?? p?.total;
  if (typeof total === "number") out.totalCount = total;
  return out;
}

/** A cron template as the binding reads it: {type, args, options}, with meta inside options (where official servers keep it). */
export function cronTemplateJson(req: CronRequest): JsonObject {
  const t = requestToJson({ type: req.type, args: req.args, ...req.options });
  if (t.meta !== undefined) {
    t.options = { ...(isJsonObject(t.options) ? t.options : {}), meta: t.meta };
    delete t.meta;
  }
  return t;
}

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * A path of the operation table with its parameters: `{name}` URI-encoded,
 * `[/{name}]` left out when the value is undefined.
 */
export function fillPath(template: string, params: Record<string, string | number | undefined> | undefined): string {
  if (!params) return template;
  return template.replace(/\[\/\{(\w+)\}\]|\{(\w+)\}/g, (_, optional: string | undefined, required: string | undefined) => {
    const v = params[(optional ?? required)!];
    if (optional !== undefined) return v === undefined ? "" : `/${encodeURIComponent(String(v))}`;
    return encodeURIComponent(String(v));
  });
}
