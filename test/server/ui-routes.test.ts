/**
 * The dashboard's files as the server serves them: content types, caching,
 * conditional requests, security headers, no way out of the asset set, and
 * a clear 404 when the dashboard is off.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../src/server/index.js";
import { loadUiAssets } from "../../src/server/http/ui-routes.js";
import { ensureUiBuilt } from "../support/dashboard-scenario.js";
import { useServer } from "../helpers.js";

ensureUiBuilt();
const ctx = useServer({ ui: true, auth: { keys: [{ name: "ops", token: "tok-ui-test-7f3a", role: "readonly" }] } });

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(ctx.url + path, { headers, redirect: "manual" });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe("the dashboard's static files", () => {
  it("serves the page without credentials, as HTML that is revalidated, with a strict CSP", async () => {
    const r = await get("/ui/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(r.headers.get("cache-control")).toBe("no-cache");
    expect(r.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.text).toMatch(/<script type="module" src="\.\/main-[A-Z0-9]+\.js">/);
    // The data stays behind the key.
    expect((await get("/ojs/v1/admin/queues")).status).toBe(401);
  });

  it("redirects /ui to /ui/ with a relative Location (works behind a path prefix)", async () => {
    const r = await get("/ui");
    expect(r.status).toBe(308);
    expect(r.headers.get("location")).toBe("ui/");
  });

  it("serves the hashed bundle as JavaScript cached for a year, and answers 304 to its ETag", async () => {
    const page = (await get("/ui/")).text;
    const js = /src="\.\/(main-[A-Z0-9]+\.js)"/.exec(page)![1]!;
    const css = /href="\.\/(main-[A-Z0-9]+\.css)"/.exec(page)![1]!;
    const r = await get(`/ui/${js}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(r.text.length).toBeGreaterThan(10_000);
    expect((await get(`/ui/${css}`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await get("/ui/favicon.svg")).headers.get("content-type")).toBe("image/svg+xml");
    const again = await get(`/ui/${js}`, { "if-none-match": r.headers.get("etag")! });
    expect(again.status).toBe(304);
    expect(again.text).toBe("");
  });

  it("serves nothing but its own files: traversal and unknown names are 404", async () => {
    for (const path of [
      "/ui/..%2Fpackage.json",
      "/ui/%2e%2e%2f%2e%2e%2fpackage.json",
      "/ui/../package.json",
      "/ui/nope.js",
      "/ui/__proto__",
      "/ui/index.html%00.js",
      "/ui/assets/main.js",
    ]) {
      const r = await get(path);
      expect([404, 401], path).toContain(r.status);
      expect(r.text, path).not.toContain('"name": "ojs-connect"');
    }
  });

  it("reads only files of known types from the build directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "ojs-ui-"));
    try {
      writeFileSync(join(dir, "index.html"), "<p>hi</p>");
      writeFileSync(join(dir, "secret.env"), "TOKEN=1");
      expect([...loadUiAssets(dir).keys()]).toEqual(["index.html"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start with ui: true when the dashboard was not built, naming the directory", () => {
    expect(() => loadUiAssets("/nonexistent/ui")).toThrow(/no built files in \/nonexistent\/ui: run `npm run build`/);
  });

  it("is off by default: /ui answers 404 saying how to turn it on", async () => {
    const s = await startServer({ port: 0, logger: false });
    try {
      const res = await fetch(`${s.url}/ui/`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/dashboard is off: start the server with ui: true/);
    } finally {
      await s.close();
    }
  });
});
