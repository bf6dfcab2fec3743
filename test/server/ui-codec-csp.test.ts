/**
 * The dashboard may call a Codec Server only when the operator names one:
 * its origin (and nothing else) joins the page's CSP connect-src; a bad URL is
 * refused at start; the CLI flag lands in the same option.
 */
import { describe, expect, it } from "vitest";
import { startServer } from "../../src/server/index.js";
import { serveOptions } from "../../src/cli/serve-flags.js";
import { uiContentSecurityPolicy } from "../../src/server/http/ui-options.js";
import { ensureUiBuilt } from "../support/dashboard-scenario.js";

ensureUiBuilt();

const connectSrc = (csp: string | null) => /connect-src ([^;]*)/.exec(csp ?? "")?.[1];

describe("the dashboard's CSP and the codec server", () => {
  it("connect-src is 'self' only without a codec server, and adds just its origin with one", async () => {
    for (const [ui, expected] of [
      [true, "'self'"],
      [{}, "'self'"],
      [{ codecServer: "https://codec.example.com:8443/tools/codec?x=1" }, "'self' https://codec.example.com:8443"],
    ] as const) {
      await using server = await startServer({ port: 0, ui, logger: false });
      const res = await fetch(`${server.url}/ui/`);
      await res.text();
      expect(connectSrc(res.headers.get("content-security-policy"))).toBe(expected);
      expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
    }
  });

  it("refuses a codec server URL that is not http(s), carries credentials, or would inject into the policy", async () => {
    for (const bad of ["javascript:alert(1)", "not a url", "https://user:pw@codec.example.com", "data:text/plain,x"])
      await expect(startServer({ port: 0, ui: { codecServer: bad }, logger: false })).rejects.toThrow(/ui\.codecServer/);
    // A URL that tries to smuggle a directive only contributes its (encoded) origin.
    expect(connectSrc(uiContentSecurityPolicy({ codecServer: "https://a.example/;script-src *" }))).toBe("'self' https://a.example");
  });

  it("--ui-codec-server sets ui.codecServer; with --no-ui or a bad URL it is an error naming the flag", () => {
    expect(serveOptions(["--ui-codec-server", "http://127.0.0.1:8090"], {})).toMatchObject({ ui: { codecServer: "http://127.0.0.1:8090" } });
    expect(serveOptions([], { OJS_UI_CODEC_SERVER: "https://codec.example.com" })).toMatchObject({ ui: { codecServer: "https://codec.example.com" } });
    expect(() => serveOptions(["--no-ui", "--ui-codec-server", "http://127.0.0.1:8090"], {})).toThrow(/--ui-codec-server: the dashboard is off/);
    expect(() => serveOptions(["--ui-codec-server", "ftp://x"], {})).toThrow(/--ui-codec-server: must be an http or https URL/);
  });
});
