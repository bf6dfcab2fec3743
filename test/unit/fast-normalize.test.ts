import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastNormalize, fastRevalidate } from "../../src/model/fast-normalize.js";
import type { JobRequest } from "../../src/model/job.js";
import { validateJobRequest } from "../../src/model/schemas.js";

/** The zod path's answer: the normalized request, or "invalid". */
function slow(req: JobRequest): unknown {
  try {
    return validateJobRequest(req, 0);
  } catch {
    return "invalid";
  }
}

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const json = fc.jsonValue({ maxDepth: 2 });
const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,5}$/);

/** Requests of the simple shape, valid: the ones the shortcut exists for (zero values included). */
const simple = fc.record(
  {
    type: fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join(".")),
    args: fc.array(json, { maxLength: 4 }),
    options: maybe(
      fc.record(
        {
          queue: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,8}$/),
          priority: fc.oneof(fc.constant(0), fc.integer({ min: -100, max: 100 })),
          meta: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 })),
          tags: fc.oneof(
            fc.constant(null).map((): string[] => []),
            fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
          ),
          id: fc.uuid({ version: 7 }),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ["type", "args"] },
) as fc.Arbitrary<JobRequest>;

/** Valid, but beyond the simple shape: the shortcut must defer to zod. */
const unusual = fc
  .tuple(simple, fc.constantFrom<Record<string, unknown>>({ timeout: 1000 }, { timeout: "PT1S" }, { retry: { maxAttempts: 2 } }, { scheduledAt: new Date(0) }))
  .map(([r, extra]) => ({ ...r, options: { ...(r.options ?? {}), ...extra } }) as JobRequest);

/** One field broken (or an unknown option): zod refuses, and the shortcut must not accept. */
const broken = fc
  .tuple(
    simple,
    fc.constantFrom<(r: JobRequest) => JobRequest>(
      (r) => ({ ...r, type: "Bad" }),
      (r) => ({ ...r, type: "" }),
      (r) => ({ ...r, type: 7 as unknown as string }),
      (r) => ({ ...r, args: {} as unknown as [] }),
      (r) => ({ ...r, args: [undefined] as unknown as [] }),
      (r) => ({ ...r, args: [NaN] }),
      (r) => ({ ...r, args: [new Date(0)] as unknown as [] }),
      (r) => ({ ...r, options: { ...r.options, queue: "Bad" } }),
      (r) => ({ ...r, options: { ...r.options, queue: "x".repeat(256) } }),
      (r) => ({ ...r, options: { ...r.options, priority: 101 } }),
      (r) => ({ ...r, options: { ...r.options, priority: 1.5 } }),
      (r) => ({ ...r, options: { ...r.options, priority: "1" as unknown as number } }),
      (r) => ({ ...r, options: { ...r.options, meta: [] as unknown as Record<string, never> } }),
      (r) => ({ ...r, options: { ...r.options, meta: { d: new Date(0) } as unknown as Record<string, never> } }),
      (r) => ({ ...r, options: { ...r.options, tags: [1] as unknown as string[] } }),
      (r) => ({ ...r, options: { ...r.options, id: "not-a-uuid" } }),
      (r) => ({ ...r, options: { ...r.options, unknown: 1 } as JobRequest["options"] }),
    ),
  )
  .map(([r, breakIt]) => breakIt(r));

const request = fc.oneof(simple, unusual, broken);

describe("the validation shortcut", () => {
  it("answers exactly as zod does whenever it answers, and defers otherwise; each path is taken often", () => {
    const paths = { shortcut: 0, deferredValid: 0, deferredInvalid: 0, shortcutZeroPriority: 0, shortcutEmptyMeta: 0, shortcutEmptyTags: 0 };
    const RUNS = 3000;
    fc.assert(
      fc.property(request, (req) => {
        const fast = fastNormalize(req);
        const zod = slow(req);
        if (fast === undefined) {
          if (zod === "invalid") paths.deferredInvalid++;
          else paths.deferredValid++;
          return;
        }
        paths.shortcut++;
        if (req.options?.priority === 0) paths.shortcutZeroPriority++;
        if (req.options?.meta && Object.keys(req.options.meta).length === 0) paths.shortcutEmptyMeta++;
        if (Array.isArray(req.options?.tags) && req.options.tags.length === 0) paths.shortcutEmptyTags++;
        expect(fast).toEqual(zod);
      }),
      { numRuns: RUNS },
    );
    // The generator reaches every path, the shortcut's zero values included, in a measured share.
    expect(paths.shortcut / RUNS).toBeGreaterThan(0.25);
    expect(paths.deferredValid / RUNS).toBeGreaterThan(0.2);
    expect(paths.deferredInvalid / RUNS).toBeGreaterThan(0.2);
    for (const k of ["shortcutZeroPriority", "shortcutEmptyMeta", "shortcutEmptyTags"] as const) expect(paths[k], k).toBeGreaterThan(30);
  });

  it("never accepts what zod refuses", () => {
    let refused = 0;
    fc.assert(
      fc.property(request, (req) => {
        if (slow(req) !== "invalid") return;
        refused++;
        expect(fastNormalize(req)).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
    expect(refused).toBeGreaterThan(600);
  });

  it("takes the common shapes", () => {
    expect(fastNormalize({ type: "email.send", args: [1, { a: "b" }], options: { queue: "mail", priority: 5, meta: { t: 1 } } })).toEqual({
      type: "email.send",
      args: [1, { a: "b" }],
      queue: "mail",
      priority: 5,
      meta: { t: 1 },
    });
    expect(fastNormalize({ type: "email.send", args: [], options: { meta: {} } })).toEqual({ type: "email.send", args: [] });
    expect(fastNormalize({ type: "email.send", args: [], options: { timeout: 1000 } })).toBeUndefined();
  });

  it("re-checks decoded requests the same way", () => {
    expect(fastRevalidate({ type: "a.b", args: [0], queue: "q", meta: { x: 1 } })).toEqual({ type: "a.b", args: [0], queue: "q", meta: { x: 1 } });
    expect(fastRevalidate({ type: "a.b", args: [], priority: 500 })).toBeUndefined();
    expect(fastRevalidate({ type: "a.b", args: [], timeout: 5 })).toBeUndefined();
  });

  it("a type or queue that passed just before spares only its own test: the next different one is checked", () => {
    // The shortcut remembers the last type and queue that passed; each pair below differs from the one before by one character.
    const seq: Array<[string, string, boolean]> = [
      ["", "q", false],
      ["ab.c", "q1", true],
      ["ab.c", "q1", true],
      ["Ab.c", "q1", false],
      ["ab.c", "Q1", false],
      ["ab.", "q1", false],
      ["ab.c", "-q", false],
      ["ab.d", "q2", true],
    ];
    for (const [type, queue, ok] of seq) {
      expect(fastNormalize({ type, args: [], options: { queue } }) !== undefined).toBe(ok);
      expect(fastRevalidate({ type, args: [], queue }) !== undefined).toBe(ok);
    }
  });
});
