/**
 * Timestamps keep the form their author wrote (JSON format §5.3: an
 * implementation "MUST preserve the original timezone when round-tripping").
 * A Date made from text remembers that text here, so that writing the Date
 * back out gives "2026-06-01T11:00:00+02:00" or "…T09:00:00Z" exactly as it
 * came, not the UTC, millisecond form of toISOString(). A Date made any other
 * way (server clocks, arithmetic) has no text and is written in UTC.
 *
 * A WeakMap keeps the Job model free of a second field per timestamp and lets
 * the text go with its Date.
 */
const written = new WeakMap<Date, { text: string; ms: number }>();

/** A Date for RFC 3339 text that remembers the text; undefined when the text is not a valid instant. */
export function instantFromText(text: string): Date | undefined {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return undefined;
  written.set(d, { text, ms: d.getTime() });
  return d;
}

/** The text a Date was made from, when it was made from text. */
export function instantText(d: Date): string | undefined {
  const w = written.get(d);
  // A Date changed in place since (setTime) no longer says what the text says.
  return w !== undefined && w.ms === d.getTime() ? w.text : undefined;
}
