import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../../src/model/errors.js";
import type { JsonObject } from "../../src/model/json.js";
import { compareVersions, SchemaRegistry, validateJsonSchema } from "../../src/server/store/schemas.js";

describe("schema registry", () => {
  it("versions order numerically and as dotted versions; latest follows deletes", () => {
    expect(compareVersions(10, 9)).toBe(1);
    expect(compareVersions("1.10.0", "1.9.2")).toBe(1);
    expect(compareVersions("v2", "2")).toBe(0);
    const r = new SchemaRegistry();
    const now = new Date();
    r.register("a.b", 1, { type: "array" }, now);
    r.register("a.b", 2, { type: "array" }, now);
    expect(() => r.register("a.b", 2, { type: "array" }, now)).toThrow(ConflictError);
    expect(r.get("a.b").version).toBe(2);
    r.delete("a.b", 2);
    expect(r.get("a.b").version).toBe(1);
    r.delete("a.b", 1);
    expect(() => r.get("a.b")).toThrow(NotFoundError);
  });

  it("a job names its schema by type@version, urn, or gets the latest of its type", () => {
    const r = new SchemaRegistry();
    const now = new Date();
    r.register("m.x", 1, { type: "array", minItems: 1 }, now);
    r.register("m.x", 2, { type: "array", minItems: 2 }, now);
    expect(r.resolve("m.x", undefined)?.version).toBe(2);
    expect(r.resolve("other", "m.x@1")?.version).toBe(1);
    expect(r.resolve("other", "urn:ojs:schema:m.x:v1")?.version).toBe(1);
  });
});

describe("JSON Schema validation of args", () => {
  const schema: JsonObject = {
    type: "array",
    prefixItems: [
      {
        type: "object",
        properties: { email: { type: "string", pattern: "@" }, n: { type: "integer", minimum: 1 } },
        required: ["email"],
        additionalProperties: false,
      },
      { enum: ["welcome", "bye"] },
    ],
    minItems: 2,
  };
  it("accepts matching args", () => {
    expect(validateJsonSchema(schema, [{ email: "a@b", n: 2 }, "welcome"])).toEqual([]);
  });
  it("names each problem by path", () => {
    expect(validateJsonSchema(schema, [{ n: 0.5, x: 1 }, "hi"])).toEqual([
      "args[0].email: is required",
      "args[0].n: must be integer, got number",
      "args[0].x: is not allowed",
      'args[1]: must be one of ["welcome","bye"]',
    ]);
    expect(validateJsonSchema(schema, [])).toEqual(["args: must have at least 2 items"]);
  });
  it("the older array form of items is a tuple too; anyOf, oneOf and not", () => {
    expect(validateJsonSchema({ type: "array", items: [{ type: "string" }] }, [1])).toEqual(["args[0]: must be string, got integer"]);
    expect(validateJsonSchema({ anyOf: [{ type: "string" }, { type: "null" }] }, 1)).toHaveLength(1);
    expect(validateJsonSchema({ oneOf: [{ type: "number" }, { type: "integer" }] }, 1)).toHaveLength(1);
    expect(validateJsonSchema({ not: { type: "string" } }, "x")).toHaveLength(1);
  });
});
