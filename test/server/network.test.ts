/**
 * The rules in front of the credentials: the bind rule (no listening beyond
 * loopback without auth unless told), Host checks against DNS rebinding,
 * Origin checks against cross-site requests, JSON bodies only with a JSON
 * content type; and the shapes operators type: auth files and `serve` flags.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { main, serveOptions } from "../../src/cli.js";
import { KeyRing } from "../../src/server/auth/keys.js";
import { checkExposure, isLoopbackHost } from "../../src/server/auth/network.js";
import { startServer } from "../../src/server/index.js";
import { grpcCall, h2Session, httpCall } from "../support/auth-probe.js";
import { useServer } from "../helpers.js";

const ctx = useServer();
const browserFacing = useServer({ allowedOrigins: ["https://dash.example.com"], allowedHosts: ["ojs.internal"] });
const dir = mkdtempSync(join(tmpdir(), "ojs-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const JOB = JSON.stringify({ type: "net.x", args: [1], options: { queue: "net-q" } });
const jobsIn = async (url: string) => (await httpCall(url, "GET", "/ojs/v1/queues/net-q/stats")).body;

describe("the bind rule", () => {
  it("refuses to listen beyond loopback without auth, and says how to proceed", async () => {
    await expect(startServer({ host: "0.0.0.0", port: 0 })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without authentication.*--insecure/);
    await expect(startServer({ host: "::", port: 0 })).rejects.toThrow(/refusing to listen/);
  });

  it("goes on to listen with auth, with client certificates, or when told it is insecure", async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: the bind itself fails, after the rule let it pass.
    for (const opts of [{ auth: { token: "t0ken-for-bind" } }, { allowInsecure: true }]) {
      await expect(startServer({ host: "192.0.2.1", port: 0, ...opts })).rejects.toThrow(/EADDRNOTAVAIL|address not available/i);
    }
    expect(() => checkExposure("10.0.0.5", true, false)).not.toThrow();
    expect(() => checkExposure("10.0.0.5", false, true)).not.toThrow();
    expect(() => checkExposure("10.0.0.5", false, false)).toThrow(/refusing/);
    for (const h of ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST", "api.localhost", "::ffff:127.0.0.1"])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "localhost.evil.com", "127.0.0.1.nip.io"]) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe("Host checks on loopback (DNS rebinding)", () => {
  it("refuses a request addressed to a name that is not loopback, over HTTP and gRPC", async () => {
    const a = await httpCall(ctx.url, "POST", "/ojs/v1/jobs", { headers: { host: "rebind.evil.example", "content-type": "application/json" }, body: JOB });
    expect(a.status).toBe(403);
    expect(a.body.error?.code).toBe("permission_denied");
    expect(a.body.error?.message).toMatch(/Host "rebind\.evil\.example" is not a name this server answers to/);
    const s = h2Session(ctx.url);
    try {
      const g = await grpcCall(s, "/ojs.v1.OJSService/Health", { ":authority": "rebind.evil.example" });
      expect(g.status).toBe(7);
    } finally {
      s.close();
    }
  });

  it("accepts loopback names and the names it is told about", async () => {
    const port = new URL(ctx.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost"])
      expect((await httpCall(ctx.url, "GET", "/ojs/v1/queues", { headers: { host } })).status, host).toBe(200);
    expect((await httpCall(ctx.url, "GET", "/ojs/v1/queues", { headers: { host: "ojs.internal" } })).status).toBe(403);
    expect((await httpCall(browserFacing.url, "GET", "/ojs/v1/queues", { headers: { host: "ojs.internal:8080" } })).status).toBe(200);
  });
});

describe("Origin checks (cross-site requests from browsers)", () => {
  it("refuses a cross-origin POST and stores nothing", async () => {
    const before = await jobsIn(ctx.url);
    const a = await httpCall(ctx.url, "POST", "/ojs/v1/jobs", { headers: { origin: "https://evil.example", "content-type": "application/json" }, body: JOB });
    expect(a.status).toBe(403);
    expect(a.body.error?.message).toMatch(/cross-origin request from https:\/\/evil\.example refused/);
    const pause = await httpCall(ctx.url, "POST", "/ojs/v1/queues/net-q/pause", { headers: { origin: "null" } });
    expect(pause.status).toBe(403);
    expect(await jobsIn(ctx.url)).toEqual(before);
  });

  it("accepts same-origin requests, and allowed origins with CORS headers and preflights", async () => {
    const same = await httpCall(ctx.url, "GET", "/ojs/v1/queues", { headers: { origin: ctx.url } });
    expect(same.status).toBe(200);
    const allowed = await httpCall(browserFacing.url, "GET", "/ojs/v1/queues", { headers: { origin: "https://dash.example.com" } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://dash.example.com");
    const preflight = await httpCall(browserFacing.url, "OPTIONS", "/ojs/v1/jobs", {
      headers: { origin: "https://dash.example.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-headers"]).toBe("content-type, authorization");
    expect((await httpCall(browserFacing.url, "GET", "/ojs/v1/queues", { headers: { origin: "https://other.example.com" } })).status).toBe(403);
  });
});

describe("JSON routes take JSON bodies only", () => {
  it.each([
    ["no content type", {}],
    ["text/plain", { "content-type": "text/plain" }],
    ["a form", { "content-type": "application/x-www-form-urlencoded" }],
  ])("refuses a body sent with %s (415) and stores nothing", async (_, headers) => {
    const before = await jobsIn(ctx.url);
    const a = await httpCall(ctx.url, "POST", "/ojs/v1/jobs", { headers, body: JOB });
    expect(a.status).toBe(415);
    expect(a.body.error?.code).toBe("unsupported_media_type");
    expect(await jobsIn(ctx.url)).toEqual(before);
  });

  it("still takes application/json and the OJS media type", async () => {
    for (const ct of ["application/json", "application/openjobspec+json; charset=utf-8"]) {
      expect((await httpCall(ctx.url, "POST", "/ojs/v1/jobs", { headers: { "content-type": ct }, body: JOB })).status, ct).toBe(201);
    }
  });
});

describe("auth configuration", () => {
  const file = (name: string, doc: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof doc === "string" ? doc : JSON.stringify(doc));
    return p;
  };

  it("reads keys (plain or as SHA-256) and certificate rules from an auth file", () => {
    const ring = KeyRing.from({
      file: file("ok.json", {
        keys: [
          { name: "api", token: "producer-secret", role: "producer" },
          { name: "both", sha256: createHash("sha256").update("two-roles-secret").digest("hex"), roles: ["producer", "worker"] },
        ],
        clientCertificates: [{ subject: "worker-1", role: "worker" }],
        publicMetrics: true,
      }),
    })!;
    expect(ring.matchKey("producer-secret")).toEqual({ name: "api", roles: ["producer"] });
    expect(ring.matchKey("two-roles-secret")).toEqual({ name: "both", roles: ["producer", "worker"] });
    expect(ring.matchKey("producer-secre")).toBeUndefined();
    expect(ring.matchCertificate(["worker-1"])).toEqual({ name: "certificate worker-1", roles: ["worker"] });
    expect(ring.publicMetrics).toBe(true);
  });

  it.each([
    ["not JSON", "{keys:", /not valid JSON/],
    ["an unknown field", { keys: [], tokens: [] }, /unknown field "tokens"/],
    ["an unknown role", { keys: [{ token: "abc", role: "root" }] }, /keys\[0\]: unknown role "root"/],
    ["a key without a role", { keys: [{ token: "abc" }] }, /keys\[0\]: needs role or roles/],
    ["a key without a secret", { keys: [{ role: "admin" }] }, /keys\[0\]: needs token .* or sha256/],
    [
      "a key twice",
      {
        keys: [
          { token: "abc", role: "admin" },
          { token: "abc", role: "worker" },
        ],
      },
      /appears twice/,
    ],
    ["no keys at all", { keys: [] }, /would admit no one/],
  ])("refuses an auth file with %s, naming the file", (name, doc, message) => {
    const p = file(`${name.replace(/\W/g, "_")}.json`, doc);
    expect(() => KeyRing.from({ file: p })).toThrow(message);
    expect(() => KeyRing.from({ file: p })).toThrow(p);
  });

  it("fails closed: auth options that name no credentials stop the server instead of turning auth off", async () => {
    for (const auth of [{}, { token: undefined }, { keys: [] }, { publicMetrics: true }]) {
      await expect(startServer({ auth })).rejects.toThrow(/would admit no one/);
    }
  });

  it("keeps /metrics behind a key unless it is made public", async () => {
    await using closed = await startServer({ auth: { token: "metrics-token" } });
    expect((await httpCall(closed.url, "GET", "/metrics")).status).toBe(401);
    expect((await httpCall(closed.url, "GET", "/metrics", { headers: { authorization: "Bearer metrics-token" } })).status).toBe(200);
    expect((await httpCall(closed.url, "GET", "/health")).status).toBe(200);
    // Refusals are counted by reason, HTTP routes and RPCs alike.
    expect((await httpCall(closed.url, "GET", "/ojs/v1/queues", { headers: { host: "evil.example" } })).status).toBe(403);
    const s = h2Session(closed.url);
    expect((await grpcCall(s, "/ojs.v1.OJSService/ListQueues", { authorization: "Bearer wrong" })).status).toBe(16);
    s.close();
    const metrics = String((await httpCall(closed.url, "GET", "/metrics", { headers: { authorization: "Bearer metrics-token" } })).body.text);
    expect(metrics).toContain('ojs_access_refusals_total{reason="unauthenticated"} 2');
    expect(metrics).toContain('ojs_access_refusals_total{reason="host"} 1');
    await using open = await startServer({ auth: { token: "metrics-token", publicMetrics: true } });
    expect((await httpCall(open.url, "GET", "/metrics")).status).toBe(200);
  });
});

describe("serve flags", () => {
  it("maps --auth-token, --auth-file, --tls-* and the network flags to startServer options", () => {
    expect(serveOptions(["--auth-token", "T0KEN", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem", "--host", "0.0.0.0"], {})).toMatchObject({
      host: "0.0.0.0",
      auth: { token: "T0KEN" },
      tls: { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem" },
    });
    expect(
      serveOptions(
        ["--auth-file", "a.json", "--public-metrics", "--insecure", "--allowed-host", "a", "--allowed-host", "b", "--allowed-origin", "https://x"],
        {},
      ),
    ).toMatchObject({
      auth: { file: "a.json", publicMetrics: true },
      allowInsecure: true,
      allowedHosts: ["a", "b"],
      allowedOrigins: ["https://x"],
    });
    expect(serveOptions([], { OJS_SERVER_TOKEN: "from-env" })).toMatchObject({ auth: { token: "from-env" } });
    expect(serveOptions([], {})).not.toHaveProperty("auth");
  });

  it("refuses flag combinations that cannot work", () => {
    expect(() => serveOptions(["--tls-cert", "c.pem"], {})).toThrow(/give both/);
    expect(() => serveOptions(["--tls-ca", "ca.pem"], {})).toThrow(/needs --tls-cert/);
    expect(() => serveOptions(["--public-metrics"], {})).toThrow(/only means something/);
    expect(() => serveOptions(["--auth-token", ""], {})).toThrow(/empty/);
  });

  it("documents its flags in serve --help", async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(s);
    try {
      await main(["serve", "--help"], {});
    } finally {
      console.log = log;
    }
    for (const flag of [
      "--auth-token",
      "OJS_SERVER_TOKEN",
      "--auth-file",
      "--tls-cert",
      "--tls-key",
      "--tls-ca",
      "--insecure",
      "--allowed-host",
      "--allowed-origin",
      "--public-metrics",
    ])
      expect(lines.join("\n")).toContain(flag);
  });
});
