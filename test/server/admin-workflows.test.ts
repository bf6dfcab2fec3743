/** GET /ojs/v1/admin/workflows: newest first, in pages, by state; the dashboard's workflow list. */
import { describe, expect, it } from "vitest";
import { chain, Client, step } from "../../src/index.js";
import { useServer } from "../helpers.js";

const ctx = useServer({ logger: false });

describe("the admin workflow list", () => {
  it("lists workflows newest first, pages them and filters by state", async () => {
    const client = new Client({ url: ctx.url, transport: "http", logger: false });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.workflow(chain(`wf-${i}`, [step("a.b", [i]), step("a.c", [])]))).id);
    await client.cancelWorkflow(ids[1]!);
    const get = async (q: string) =>
      (await (await fetch(`${ctx.url}/ojs/v1/admin/workflows${q}`)).json()) as {
        items: { id: string; state: string; steps: unknown[] }[];
        pagination: { total: number };
      };
    const all = await get("");
    expect(all.items.map((w) => w.id)).toEqual([...ids].reverse());
    expect(all.pagination.total).toBe(3);
    expect(all.items[0]!.steps).toHaveLength(2);
    expect((await get("?per_page=1&page=2")).items.map((w) => w.id)).toEqual([ids[1]]);
    const cancelled = await get("?state=cancelled");
    expect(cancelled.items.map((w) => w.id)).toEqual([ids[1]]);
    expect(cancelled.pagination.total).toBe(1);
    expect((await fetch(`${ctx.url}/ojs/v1/admin/workflows?state=bogus`)).status).toBe(400);
    expect((await fetch(`${ctx.url}/ojs/v1/admin/workflows?per_page=1000`)).status).toBe(400);
    await client.close();
  });
});
