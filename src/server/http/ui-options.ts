/**
 * What the operator may set about the dashboard, and the Content-Security-Policy
 * that follows from it. The page talks to its own origin only, unless the
 * operator names a Codec Server: then the browser may also call that one
 * origin, so the dashboard can show decoded payloads without this server ever
 * seeing keys or plaintext.
 */
import { ValidationError } from "../../model/errors.js";

/** Dashboard settings: `startServer({ ui: { codecServer } })`; `ui: true` is `ui: {}`. */
export interface UiOptions {
  /**
   * URL of a Codec Server (`createCodecServer`, ojs-encryption.md §9) the
   * dashboard may call to show encoded args and results decoded. Only its
   * origin is used: it is added to the page's CSP `connect-src`. Without it the
   * page can reach no server but this one. The user still enters the URL in
   * the dashboard's settings; nothing is sent to it until they do.
   */
  codecServer?: string;
}

const BASE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
];

/** The origin of a Codec Server URL, checked: http or https, no credentials in it. */
export function codecServerOrigin(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError(`ui.codecServer: ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new ValidationError(`ui.codecServer: must be an http or https URL, got ${u.protocol}`);
  if (u.username || u.password) throw new ValidationError("ui.codecServer: must not carry credentials");
  return u.origin;
}

/** The dashboard's CSP: its own origin, plus the Codec Server's when one is named. */
export function uiContentSecurityPolicy(opts: UiOptions = {}): string {
  const connect = opts.codecServer === undefined ? "connect-src 'self'" : `connect-src 'self' ${codecServerOrigin(opts.codecServer)}`;
  return [...BASE_CSP.slice(0, 4), connect, ...BASE_CSP.slice(4)].join("; ");
}
