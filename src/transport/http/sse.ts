/**
 * A server-sent events parser (the WHATWG event-stream format): handles LF,
 * CR and CRLF line ends, multi-line data, comments, and chunks that split a
 * line or a multi-byte character anywhere.
 */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

export async function* parseSse(chunks: AsyncIterable<Buffer | string>): AsyncIterable<SseMessage> {
  const decoder = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  let event = "";
  let id: string | undefined;
  let pendingCR = false;
  for await (const chunk of chunks) {
    buf += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== "\n" && c !== "\r") continue;
      // A LF right after a CR that ended the previous line belongs to that line end.
      if (c === "\n" && pendingCR && i === start) {
        pendingCR = false;
        start = i + 1;
        continue;
      }
      const line = buf.slice(start, i);
      pendingCR = c === "\r";
      start = i + 1;
      if (line === "") {
        if (data.length) yield { id, event: event || "message", data: data.join("\n") };
        data = [];
        event = "";
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id" && !value.includes("\0")) id = value;
    }
    buf = buf.slice(start);
    if (pendingCR && buf.startsWith("\n")) {
      buf = buf.slice(1);
      pendingCR = false;
    }
  }
}
