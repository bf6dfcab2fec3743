/**
 * JSON.stringify of the small objects a binary job record carries beside its
 * fixed part (job-record.ts: the job's other fields, the record's), as the
 * same text, built without the generic walk: these are mostly a number or
 * two (dates in ms) or a worker id, and this is several times cheaper than
 * JSON.stringify for them, for every record of every claim and ack. Any other
 * value goes through JSON.stringify as it would have.
 */

/** `"key":` for each key seen (a record's field names: a handful). */
const keyText = new Map<string, string>();
const MAX_KEYS = 256;

function keyOf(k: string): string {
  let t = keyText.get(k);
  if (t === undefined) {
    t = `${JSON.stringify(k)}:`;
    if (keyText.size < MAX_KEYS) keyText.set(k, t);
  }
  return t;
}

/** The text JSON.stringify(o) gives for a plain object (own fields, in order; undefined ones left out). */
export function restJson(o: Record<string, unknown>): string {
  let out = "";
  for (const k in o) {
    const v = o[k];
    let t: string | undefined;
    if (typeof v === "number") t = Number.isFinite(v) ? String(v) : "null";
    else if (typeof v === "string") t = JSON.stringify(v);
    else if (v === undefined) continue;
    // Objects (toJSON included), booleans, null; undefined for a function or symbol, which JSON leaves out.
    else t = JSON.stringify(v) as string | undefined;
    if (t === undefined) continue;
    out += (out === "" ? "{" : ",") + keyOf(k) + t;
  }
  return out === "" ? "{}" : `${out}}`;
}
