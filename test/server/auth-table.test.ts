/**
 * Access rules on every route and every method, driven by the router's own
 * route list and the gRPC service descriptors: a route or method without a
 * rule in src/server/auth/roles.ts fails here, and every rule is probed with
 * no credentials, a wrong token and each role.
 */
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";
import { FastPathService } from "../../gen/ojsconnect/v1/fastpath_pb.js";
import { HTTP_RULES, ROLE_PERMISSIONS, ROLES, RPC_RULES, type Permission, type Role } from "../../src/server/auth/roles.js";
import { ServerCore } from "../../src/server/core.js";
import { HttpRouter } from "../../src/server/http/router.js";
import { httpRoutes } from "../../src/server/http/routes.js";
import { grpcCall, h2Session, httpCall } from "../support/auth-probe.js";
import { useServer } from "../helpers.js";

const TOKENS: Record<Role, string> = {
  admin: "tok-admin-6c1f0a",
  producer: "tok-producer-93be12",
  worker: "tok-worker-0d77a4",
  readonly: "tok-readonly-51e9c3",
};
const ctx = useServer({ auth: { keys: ROLES.map((role) => ({ name: `${role}-key`, token: TOKENS[role], role })) } });

const core = new ServerCore();
const ROUTES = httpRoutes(core, new HttpRouter()).list();
core.close();
const METHODS = [OJSService, FastPathService].flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`));

type Caller = "nobody" | "wrong-token" | Role;
const CALLERS: Caller[] = ["nobody", "wrong-token", ...ROLES];
function credentials(c: Caller): Record<string, string> {
  if (c === "nobody") return {};
  if (c === "wrong-token") return { authorization: "Bearer not-a-key-of-this-server" };
  return { authorization: `Bearer ${TOKENS[c]}` };
}
/** What the door must answer: "ok" (anything but 401/403), 401 or 403. */
function expected(c: Caller, p: Permission): "ok" | 401 | 403 {
  if (p === "public") return "ok";
  if (c === "nobody" || c === "wrong-token") return 401;
  const need = p === "metrics" ? "read" : p;
  return ROLE_PERMISSIONS[c].includes(need) ? "ok" : 403;
}

describe("the access table", () => {
  it("has a rule for every HTTP route of the router, and none for a route that does not exist", () => {
    expect(ROUTES.length).toBeGreaterThan(50);
    expect(ROUTES.filter((r) => !Object.hasOwn(HTTP_RULES, r))).toEqual([]);
    expect(Object.keys(HTTP_RULES).filter((r) => !ROUTES.includes(r))).toEqual([]);
  });

  it("has a rule for every gRPC method of the service descriptors, and none for a method that does not exist", () => {
    expect(METHODS).toContain("/ojs.v1.OJSService/StreamJobs");
    expect(METHODS).toContain("/ojsconnect.v1.FastPathService/SettleStream");
    expect(METHODS.filter((m) => !Object.hasOwn(RPC_RULES, m))).toEqual([]);
    expect(Object.keys(RPC_RULES).filter((m) => !METHODS.includes(m))).toEqual([]);
  });

  it("keeps health and the dashboard's static files open and everything that changes state behind a role", () => {
    const open = Object.entries({ ...HTTP_RULES, ...RPC_RULES })
      .filter(([, p]) => p === "public")
      .map(([k]) => k);
    expect(open.sort()).toEqual(["/ojs.v1.OJSService/Health", "GET /health", "GET /ojs/v1/health", "GET /ready", "GET /ui", "GET /ui/:file"]);
  });
});

describe("every HTTP route answers each caller as its rule says", () => {
  it.each(ROUTES)("%s", async (route) => {
    const [method, pattern] = route.split(" ") as [string, string];
    const path = pattern.replace(/:[a-z]+/g, "x-probe");
    const body = ["POST", "PUT", "PATCH"].includes(method) ? "{}" : undefined;
    for (const caller of CALLERS) {
      const headers: Record<string, string> = { ...credentials(caller), ...(body ? { "content-type": "application/json" } : {}) };
      const a = await httpCall(ctx.url, method, path, { headers, ...(body ? { body } : {}) });
      const want = expected(caller, HTTP_RULES[route]!);
      const seen = `${caller} -> ${a.status} ${JSON.stringify(a.body.error?.message ?? "")}`;
      if (want === "ok") expect([401, 403], seen).not.toContain(a.status);
      else {
        expect(a.status, seen).toBe(want);
        expect(a.body.error?.code, seen).toBe(want === 401 ? "unauthenticated" : "permission_denied");
        expect(a.body.error?.message, seen).toMatch(want === 401 ? /not valid|needs credentials/ : /needs the .* role/);
        if (want === 401) expect(a.headers["www-authenticate"]).toMatch(/^Bearer/);
      }
    }
  });

  it("asks for credentials on paths that are no route, before saying 404", async () => {
    expect((await httpCall(ctx.url, "GET", "/ojs/v1/no-such-thing")).status).toBe(401);
    expect((await httpCall(ctx.url, "GET", "/ojs/v1/no-such-thing", { headers: credentials("readonly") })).status).toBe(404);
  });

  it("accepts the key in the API-key headers too, and refuses other Authorization schemes", async () => {
    for (const name of ["x-ojs-api-key", "x-api-key"]) {
      expect((await httpCall(ctx.url, "GET", "/ojs/v1/queues", { headers: { [name]: TOKENS.readonly } })).status).toBe(200);
    }
    const basic = await httpCall(ctx.url, "GET", "/ojs/v1/queues", { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } });
    expect(basic.status).toBe(401);
    expect(basic.body.error?.message).toMatch(/Bearer/);
  });
});

describe("every gRPC method answers each caller as its rule says", () => {
  const sessions: ReturnType<typeof h2Session>[] = [];
  let session: ReturnType<typeof h2Session>;
  beforeAll(() => {
    session = h2Session(ctx.url);
    sessions.push(session);
  });
  afterAll(() => {
    for (const s of sessions) s.close();
  });

  it.each(METHODS)("%s", async (path) => {
    for (const caller of CALLERS) {
      const a = await grpcCall(session, path, credentials(caller));
      const want = expected(caller, RPC_RULES[path]!);
      const seen = `${caller} -> ${a.status} ${a.message}`;
      if (want === "ok") expect([7, 16], seen).not.toContain(a.status);
      else {
        expect(a.status, seen).toBe(want === 401 ? 16 : 7);
        expect(a.message, seen).toMatch(want === 401 ? /not valid|needs credentials/ : /needs the .* role/);
      }
    }
  });

  it("asks for credentials for methods this server lacks, before saying UNIMPLEMENTED", async () => {
    expect((await grpcCall(session, "/ojs.v1.OJSService/NoSuchMethod", {})).status).toBe(16);
    expect((await grpcCall(session, "/ojs.v1.OJSService/NoSuchMethod", credentials("readonly"))).status).toBe(12);
  });

  it("refuses Connect and gRPC-Web calls in their own error formats", async () => {
    const connect = await httpCall(ctx.url, "POST", "/ojs.v1.OJSService/PauseQueue", {
      headers: { "content-type": "application/json", ...credentials("producer") },
      body: JSON.stringify({ queue: "q" }),
    });
    expect(connect.status).toBe(403);
    expect(connect.body).toMatchObject({ code: "permission_denied" });
    const web = await httpCall(ctx.url, "POST", "/ojs.v1.OJSService/PauseQueue", { headers: { "content-type": "application/grpc-web+proto" }, body: "" });
    expect(web.status).toBe(200);
    expect(web.headers["grpc-status"]).toBe("16");
  });
});

describe("a refused request is not read", () => {
  it("closes an HTTP/1.1 connection after the 401 instead of draining a large body", async () => {
    const { port } = new URL(ctx.url);
    const answer = await new Promise<{ head: string; closedAfterMs: number }>((resolve, reject) => {
      const sock = netConnect(Number(port), "127.0.0.1");
      let head = "";
      const started = Date.now();
      sock.on("data", (c: Buffer) => (head += c.toString("latin1")));
      sock.on("close", () => resolve({ head, closedAfterMs: Date.now() - started }));
      sock.on("error", () => {});
      sock.setTimeout(5000, () => reject(new Error("the server kept the connection open")));
      sock.write(`POST /ojs/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n`);
      sock.write(Buffer.alloc(64 * 1024, 0x20));
    });
    expect(answer.head).toMatch(/^HTTP\/1\.1 401/);
    expect(answer.head.toLowerCase()).toContain("connection: close");
  });

  it("resets an HTTP/2 stream the client is still sending on, right after the refusal", async () => {
    const s = h2Session(ctx.url);
    try {
      const closed = await new Promise<{ status: unknown; rstCode: number | undefined }>((resolve) => {
        const st = s.request({
          ":method": "POST",
          ":path": "/ojsconnect.v1.FastPathService/EnqueueStream",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let status: unknown;
        st.on("response", (h) => (status = h["grpc-status"]));
        st.on("data", () => {});
        st.on("error", () => {});
        st.on("close", () => resolve({ status, rstCode: st.rstCode }));
        setTimeout(() => resolve({ status, rstCode: -1 }), 3000).unref(); // still open
        st.write(Buffer.from([0, 0, 0, 0, 0])); // and never half-close, as a pipelining client
      });
      expect(closed).toEqual({ status: "16", rstCode: 0 });
    } finally {
      s.close();
    }
  });
});
