/**
 * Durations: the SDK accepts milliseconds (number) or ISO 8601 strings such as
 * "PT2S" and "P1DT2H"; everything it hands back is in milliseconds.
 */
export type Duration = number | string;

const ISO = /^P(?!$)(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Parses an ISO 8601 duration to milliseconds; undefined when malformed. Years and months are refused: their length is not fixed. */
export function parseIsoDuration(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, w, d, h, min, s] = m;
  const ms = (Number(w ?? 0) * 7 * 86_400 + Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3_600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000;
  return Math.round(ms);
}

/** Formats milliseconds as the shortest ISO 8601 duration ("PT1.5S", "PT5M", "PT0S"). */
export function formatIsoDuration(ms: number): string {
  if (ms <= 0) return "PT0S";
  let rest = Math.round(ms);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  return `PT${h ? `${h}H` : ""}${m ? `${m}M` : ""}${s ? `${s}S` : ""}`;
}

/** Normalises a Duration to milliseconds; undefined when it is neither a non-negative number nor a valid ISO string. */
export function toMillis(d: Duration): number | undefined {
  if (typeof d === "number") return Number.isFinite(d) && d >= 0 ? d : undefined;
  return parseIsoDuration(d);
}
