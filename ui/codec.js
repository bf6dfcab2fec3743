// Showing encoded payloads decoded (ojs-encryption.md §9.4): the dashboard
// never holds keys; when the user names a Codec Server (theirs, next to their
// keys), encoded args and results are sent to its POST /codec/decode and the
// answer is shown. With no Codec Server set, nothing is sent anywhere.
// The URL is kept in localStorage (it is not secret); its token, like the
// server key, only in this tab (sessionStorage).
import { html, useEffect, useState } from "./lib.js";

const URL_KEY = "ojs-dashboard-codec-server";
const TOKEN_KEY = "ojs-dashboard-codec-token";

export function getCodecServer() {
  return localStorage.getItem(URL_KEY) ?? "";
}
export function getCodecToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}
export function setCodecSettings(url, token) {
  if (url) localStorage.setItem(URL_KEY, url);
  else localStorage.removeItem(URL_KEY);
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Whether a value is an encoded payload: `{ ojs_encoded: true, data: "<base64>" }`. */
export const isEncoded = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && v.ojs_encoded === true && typeof v.data === "string";

/** The codec entries of a meta object (what the Codec Server needs to decode). */
function codecMeta(meta) {
  const out = {};
  for (const [k, v] of Object.entries(meta ?? {})) if (k.startsWith("ojs.codec.")) out[k] = v;
  return out;
}

class DecodeError extends Error {
  constructor(code) {
    super(`decode failed: ${code}`);
    this.code = code;
  }
}

function fromBase64Json(data) {
  const bin = atob(data);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Asks the Codec Server to decode one payload; rejects with a DecodeError naming a code. */
async function decode(payload, meta) {
  const base = getCodecServer().replace(/\/+$/, "");
  const token = getCodecToken();
  let res;
  try {
    res = await fetch(`${base}/codec/decode`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ payloads: [{ data: payload.data, metadata: codecMeta(meta) }] }),
    });
  } catch {
    // Network down, CORS refused, or this server's CSP does not allow the origin (serve --ui-codec-server).
    throw new DecodeError("unreachable");
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw new DecodeError(`http_${res.status}`);
  }
  if (!res.ok) throw new DecodeError(body?.error?.code ?? `http_${res.status}`);
  const p = body?.payloads?.[0];
  if (p?.error) throw new DecodeError(p.error.code ?? "codec_failed");
  if (typeof p?.data !== "string") throw new DecodeError("bad_answer");
  try {
    return fromBase64Json(p.data);
  } catch {
    throw new DecodeError("bad_answer");
  }
}

/**
 * A job's args or result: as stored when plain; when encoded, a badge and,
 * with a Codec Server set, the decoded value (or why it could not be decoded).
 * `encoded` is the payload, `meta` the codec meta recorded with it.
 */
export function Payload({ value, encoded, meta, name }) {
  const server = getCodecServer();
  const [state, setState] = useState({});
  useEffect(() => {
    if (!encoded || !server) return undefined;
    let live = true;
    setState({ pending: true });
    decode(encoded, meta).then(
      (decoded) => live && setState({ decoded }),
      (e) => live && setState({ error: e.code ?? "unreachable" }),
    );
    return () => (live = false);
  }, [encoded?.data, server]);
  const json = (v) => html`<pre class="json" data-payload=${name}>${JSON.stringify(v, null, 2)}</pre>`;
  if (value === undefined) return html`<span class="muted">—</span>`;
  if (!encoded) return json(value);
  const badge = html`<span class="badge encoded" data-encoded=${name} title=${encoded.encoding ?? ""}>encoded</span>`;
  if (!server) return html`<div>${badge} <span class="muted small">set a codec server (settings) to see it decoded</span></div>${json(value)}`;
  if (state.pending) return html`<div>${badge} <span class="muted small">decoding…</span></div>${json(value)}`;
  if (state.error) return html`<div>${badge} <span class="decode-failed error-inline" data-decode-failed=${name}>decode failed: ${state.error}</span></div>${json(value)}`;
  if ("decoded" in state) return html`<div>${badge} <span class="badge decoded" data-decoded=${name}>decoded by codec server</span></div>${json(state.decoded)}`;
  return html`<div>${badge}</div>${json(value)}`;
}

/** The settings dialog: the Codec Server's URL and token. */
export function CodecSettings({ done }) {
  const [url, setUrl] = useState(getCodecServer());
  const [token, setToken] = useState(getCodecToken());
  const submit = (e) => {
    e.preventDefault();
    setCodecSettings(url.trim(), token.trim());
    done();
  };
  return html`<div class="overlay"><form class="codec-settings" onSubmit=${submit}>
    <h2>Settings</h2>
    <label>Codec server URL <input type="url" name="codec-server" placeholder="https://codec.example.com" value=${url} onInput=${(e) => setUrl(e.target.value)} /></label>
    <label>Codec server token <input type="password" name="codec-token" autocomplete="off" value=${token} onInput=${(e) => setToken(e.target.value)} /></label>
    <p class="muted small">Encoded args and results are sent to <code>POST …/codec/decode</code> on that server to be shown decoded; this job server never sees them plain.
      The URL is kept in this browser (localStorage), the token in this tab only. The job server must allow the URL (<code>serve --ui-codec-server</code>). Leave empty to send nothing.</p>
    <div class="actions"><button type="submit">Save</button><button type="button" onClick=${done}>Cancel</button></div>
  </form></div>`;
}
