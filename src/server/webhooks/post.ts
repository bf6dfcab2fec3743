/**
 * One outbound webhook POST over node:http(s): a hard timeout for the whole
 * exchange, at most a few redirects (ojs-webhooks.md §7.1), no connection kept
 * (nothing lingers after the server closes), and only the first bytes of the
 * answer read.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/** What came back from one POST: a status, or an error when nothing did. */
export interface PostOutcome {
  status?: number;
  /** The first bytes of the answer (for the test endpoint and the delivery log). */
  body?: string;
  retryAfterMs?: number;
  error?: string;
  durationMs: number;
}

const MAX_REDIRECTS = 3;
const BODY_PREVIEW = 1024;

function once(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      { method: "POST", headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, agent: false, signal },
      resolve,
    );
    req.on("error", reject);
    req.end(body);
  });
}

function readPreview(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      if (got.length < BODY_PREVIEW) got += chunk.slice(0, BODY_PREVIEW - got.length);
    });
    res.on("end", () => resolve(got));
    res.on("error", () => resolve(got));
    res.on("close", () => resolve(got));
  });
}

function retryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  const n = Number(s);
  if (Number.isFinite(n) && n >= 0) return n * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** POSTs `body` to `target`; never rejects. `stop` ends the exchange early (server closing, subscription deleted). */
export async function postWebhook(target: string, headers: Record<string, string>, body: string, timeoutMs: number, stop?: AbortSignal): Promise<PostOutcome> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
  let url = new URL(target);
  try {
    for (let hop = 0; ; hop++) {
      const res = await once(url, headers, body, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location && hop < MAX_REDIRECTS) {
        res.resume();
        const next = new URL(location, url);
        if (next.protocol !== "http:" && next.protocol !== "https:")
          return { status, error: "redirect to a non-http(s) URL", durationMs: performance.now() - started };
        url = next;
        continue;
      }
      const preview = await readPreview(res);
      const out: PostOutcome = { status, body: preview, durationMs: performance.now() - started };
      const ra = retryAfter(res.headers["retry-after"]);
      if (ra !== undefined) out.retryAfterMs = ra;
      return out;
    }
  } catch (err) {
    const error = timeout.aborted
      ? `timed out after ${timeoutMs} ms`
      : err instanceof Error
        ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`
        : String(err);
    return { error, durationMs: performance.now() - started };
  }
}
