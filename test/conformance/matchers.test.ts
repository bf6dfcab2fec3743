import { describe, expect, it } from "vitest";
import { match } from "../../conformance/lib/matchers.js";
import type { JsonValue } from "../../src/model/json.js";

const ok = (m: JsonValue, v: JsonValue | undefined, found = v !== undefined) => match(m, { found, value: v });
const pass = (m: JsonValue, v: JsonValue | undefined, found?: boolean) => expect(ok(m, v, found)).toBeUndefined();
const fail = (m: JsonValue, v: JsonValue | undefined, found?: boolean) => expect(ok(m, v, found)).toEqual(expect.any(String));

describe("string matchers", () => {
  it("any: present and not null", () => {
    pass("any", 0);
    pass("any", "");
    fail("any", null);
    fail("any", undefined);
  });
  it("absent: missing, or null as a decoder reads it", () => {
    pass("absent", undefined);
    pass("absent", null);
    fail("absent", "x");
    fail("absent", 0);
  });
  it("exists: present, null included", () => {
    pass("exists", null);
    pass("exists", false);
    fail("exists", undefined);
  });
  it("string:nonempty and its alias string:non_empty", () => {
    pass("string:nonempty", "a");
    pass("string:non_empty", "a");
    fail("string:nonempty", "");
    fail("string:non_empty", 1);
  });
  it("string:uuid accepts any version, lower case", () => {
    pass("string:uuid", "019539a4-0000-4000-8000-000000000000");
    fail("string:uuid", "019539A4-0000-4000-8000-000000000000");
    fail("string:uuid", "not-a-uuid");
  });
  it("string:uuidv7 checks version 7 and the variant bits", () => {
    pass("string:uuidv7", "019539a4-0000-7000-8000-000000000000");
    fail("string:uuidv7", "019539a4-0000-4000-8000-000000000000");
    fail("string:uuidv7", "019539a4-0000-7000-c000-000000000000");
  });
  it("string:datetime is RFC 3339 with a zone", () => {
    pass("string:datetime", "2026-01-01T00:00:00Z");
    pass("string:datetime", "2026-01-01T00:00:00.123+02:00");
    fail("string:datetime", "2026-01-01 00:00:00");
    fail("string:datetime", "2026-01-01T00:00:00");
  });
  it("string:contains:X is case-sensitive", () => {
    pass("string:contains:max_attempts", "options.retry.max_attempts: must be >= 0");
    fail("string:contains:Max", "max");
  });
  it("string:pattern(regex)", () => {
    pass("string:pattern(^test\\..*)", "test.echo");
    fail("string:pattern(^test\\..*)", "prod.echo");
  });
  it("a literal string matches exactly", () => {
    pass("available", "available");
    fail("available", "active");
    fail("1", 1);
  });
});

describe("number matchers", () => {
  it("number:positive and number:non_negative", () => {
    pass("number:positive", 1);
    fail("number:positive", 0);
    pass("number:non_negative", 0);
    fail("number:non_negative", -1);
    fail("number:positive", "1");
  });
  it("number:range(a,b) is inclusive", () => {
    pass("number:range(400,422)", 400);
    pass("number:range(400,422)", 422);
    fail("number:range(400,422)", 423);
    pass("number:range(-1.5, 2)", 0);
  });
  it("~N allows the tolerance (50% by default)", () => {
    pass("~2000", 1000);
    pass("~2000", 3000);
    fail("~2000", 999);
    fail("~2000", 3001);
    expect(match("~1000", { found: true, value: 1200 }, { tolerancePct: 10 })).toEqual(expect.any(String));
  });
  it("a literal number compares by value, integers exactly", () => {
    pass(42, 42);
    pass(3.14, 3.14);
    fail(42, 43);
    fail(0, "0");
  });
});

describe("array matchers", () => {
  it("array:nonempty and array:empty", () => {
    pass("array:nonempty", [1]);
    fail("array:nonempty", []);
    pass("array:empty", []);
    fail("array:empty", [null]);
    fail("array:empty", {});
  });
  it("array:length:N and array:length(N)", () => {
    pass("array:length:2", [1, 2]);
    pass("array:length(0)", []);
    fail("array:length:2", [1]);
  });
  it("array:min_length:N and array:min:N", () => {
    pass("array:min_length:1", [1, 2]);
    pass("array:min:2", [1, 2]);
    fail("array:min:3", [1, 2]);
  });
  it("contains:X and not_contains:X compare elements as text", () => {
    pass("contains:cron-b", ["cron-a", "cron-b"]);
    pass("contains:42", [42]);
    fail("contains:c", ["a"]);
    pass("not_contains:deleted", ["a"]);
    fail("not_contains:a", ["a"]);
  });
  it("a positional array needs the exact length and each element to match", () => {
    pass(["string:nonempty", 42, true, null, { nested: "value" }], ["a", 42, true, null, { nested: "value" }]);
    fail(["a", "b"], ["a"]);
    fail(["a", "b"], ["a", "c"]);
  });
});

describe("booleans and null", () => {
  it("true, false and null match only themselves", () => {
    pass(true, true);
    fail(true, "true");
    pass(false, false);
    fail(false, null);
    pass(null, null);
    fail(null, undefined);
  });
});

describe("object operators", () => {
  it("$exists, with and without $type", () => {
    pass({ $exists: true }, "x");
    fail({ $exists: true }, undefined);
    pass({ $exists: false }, undefined);
    fail({ $exists: false }, "x");
    pass({ $exists: true, $type: "string" }, "x");
    fail({ $exists: true, $type: "string" }, 1);
  });
  it("$type names the JSON type", () => {
    pass({ $type: "array" }, []);
    pass({ $type: "object" }, {});
    pass({ $type: "null" }, null);
    pass({ $type: "number" }, 1.5);
    pass({ $type: "boolean" }, false);
    fail({ $type: "object" }, []);
  });
  it("$match is a regular expression on a string", () => {
    pass({ $match: "application/(openjobspec\\+)?json" }, "application/openjobspec+json");
    fail({ $match: "^a$" }, "b");
    fail({ $match: "1" }, 1);
  });
  it("$in: any alternative, itself a matcher", () => {
    pass({ $in: [200, 409] }, 409);
    pass({ $in: ["string:uuidv7", 0] }, 0);
    fail({ $in: ["a", "b"] }, "c");
  });
  it("$size: exact, or {$gte: n}", () => {
    pass({ $size: 0 }, []);
    fail({ $size: 1 }, []);
    pass({ $size: { $gte: 1 } }, [1, 2]);
    fail({ $size: { $gte: 3 } }, [1]);
    fail({ $size: 0 }, "");
  });
  it("$or: any alternative", () => {
    pass({ $or: ["string:nonempty", { $exists: false }] }, undefined);
    pass({ $or: ["available", "active"] }, "active");
    fail({ $or: ["available", "active"] }, "completed");
  });
  it("$empty: a missing, null or empty body", () => {
    pass({ $empty: true }, undefined);
    pass({ $empty: true }, {});
    fail({ $empty: true }, { jobs: [] });
    pass({ $empty: false }, { jobs: [] });
  });
  it("range with min, max or both", () => {
    pass({ range: { min: 1000, max: 3000 } }, 2000);
    fail({ range: { min: 1000, max: 3000 } }, 3001);
    pass({ range: { min: 1 } }, 5);
    fail({ range: { max: 5 } }, 6);
  });
  it("$eq and the comparisons the extension cases use", () => {
    pass({ $eq: "req-1" }, "req-1");
    fail({ $eq: "req-1" }, "req-2");
    pass({ $gte: 1 }, 1);
    fail({ $gt: 1 }, 1);
    pass({ $lt: 2 }, 1);
    fail({ $lte: 0 }, 1);
    pass({ $ne: 1 }, 2);
  });
  it("several operators must all hold", () => {
    fail({ $exists: true, $type: "number", $gte: 5 }, 4);
    pass({ $exists: true, $type: "number", $gte: 5 }, 5);
  });
  it("an object without operators is a shape: keys must exist and match", () => {
    pass({ name: "string:nonempty", error: "absent" }, { name: "x" });
    fail({ name: "string:nonempty" }, {});
    fail({ error: "absent" }, { error: {} });
    fail({ a: 1 }, [1]);
  });
});
