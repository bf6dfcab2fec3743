/** What the README promises about the server's monitoring routes is what the server serves. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useServer } from "../helpers.js";

const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
const ctx = useServer({ logger: false });

describe("README: /metrics, /health, /ready", () => {
  it("every metric the README names is in GET /metrics", async () => {
    const documented = [...new Set(readme.match(/\bojs_[a-z_]+/g) ?? [])];
    expect(documented.length).toBeGreaterThanOrEqual(5);
    const text = await (await fetch(`${ctx.url}/metrics`)).text();
    for (const name of documented) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
  });

  it("the health and readiness routes answer as the README's table says", async () => {
    expect(readme).toMatch(/`GET \/health`/);
    expect(readme).toMatch(/`GET \/ready`/);
    expect(await (await fetch(`${ctx.url}/health`)).json()).toMatchObject({ status: "ok" });
    expect(await (await fetch(`${ctx.url}/ready`)).json()).toEqual({ status: "ready" });
  });

  it("explains demo figures against bench figures, and links the API reference and Node lines", () => {
    expect(readme).toMatch(/Why `npm run demo` shows .* not 16 000/);
    expect(readme).toMatch(/npm run docs/);
    expect(readme).toMatch(/Supported Node lines: 20 .* 22 and 24/s);
  });
});
