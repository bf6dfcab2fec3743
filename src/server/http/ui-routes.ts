/**
 * The web dashboard's static files, under /ui/. They are built at package
 * build time (scripts/build-ui.mjs, into dist/ui) and read into memory once
 * when the server starts with `ui: true`; a request can only name one of the
 * files read then, so no path reaches the file system. The dashboard's data
 * comes from the admin API with the key the user gives, so these files are
 * public (src/server/auth/roles.ts) and carry nothing secret.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError, ValidationError } from "../../model/errors.js";
import type { HttpResult, HttpRouter } from "./router.js";
import { uiContentSecurityPolicy, type UiOptions } from "./ui-options.js";

interface Asset {
  body: string;
  /** The page's Content-Security-Policy (ui-options.ts). */
  csp: string;
  type: string;
  etag: string;
  cacheControl: string;
}

/** The dashboard's files by name, as served. */
export type UiAssets = ReadonlyMap<string, Asset>;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Files whose name carries a content hash never change: caches may keep them for a year. */
const HASHED = /-[A-Z0-9]{8,}\.(js|css)$/i;

// The page loads only its own files and talks only to its own origin (and a Codec Server the operator names: ui-options.ts).
const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** dist/ui of this package, from src/server/http (sources) or dist/src/server/http (built). */
export function defaultUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "dist", "ui");
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "ui");
}

/** Reads the built dashboard. Throws, naming the directory, when it was not built. */
export function loadUiAssets(dir = defaultUiDir(), opts: UiOptions = {}): UiAssets {
  const csp = uiContentSecurityPolicy(opts);
  if (!existsSync(join(dir, "index.html")))
    throw new ValidationError(`the dashboard (ui: true) has no built files in ${dir}: run \`npm run build\` (the published package ships them)`);
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name), "utf8");
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    const cacheControl = name === "index.html" ? "no-cache" : HASHED.test(name) ? "public, max-age=31536000, immutable" : "public, max-age=3600";
    assets.set(name, { body, csp, type, etag, cacheControl });
  }
  return assets;
}

function serve(asset: Asset | undefined, ifNoneMatch: string | string[] | undefined): HttpResult {
  if (!asset) throw new NotFoundError("no such file in the dashboard");
  const headers = {
    ...SECURITY_HEADERS,
    "content-security-policy": asset.csp,
    "content-type": asset.type,
    "cache-control": asset.cacheControl,
    etag: asset.etag,
  };
  if (ifNoneMatch === asset.etag) return { status: 304, text: "", headers };
  return { status: 200, text: asset.body, headers };
}

/**
 * GET /ui (redirects to /ui/, so the page's relative links work behind a path
 * prefix too) and GET /ui/:file. Without assets (the dashboard is off) both
 * answer 404, saying how to turn it on.
 */
export function registerUiRoutes(router: HttpRouter, assets: UiAssets | undefined): void {
  const off = (): never => {
    throw new NotFoundError("the dashboard is off: start the server with ui: true (ojs-connect serve turns it on)");
  };
  router.on("GET", "/ui", (req) => {
    if (!assets) return off();
    // The router reads "/ui" and "/ui/" alike; only the second one resolves "./main.js" under /ui/.
    if (!req.path.endsWith("/")) return { status: 308, text: "", headers: { location: "ui/" } };
    return serve(assets.get("index.html"), req.headers["if-none-match"]);
  });
  router.on("GET", "/ui/:file", (req) => {
    if (!assets) return off();
    return serve(assets.get(req.params.file!), req.headers["if-none-match"]);
  });
}
