/**
 * The assertion bodies behind FakeClient.assertEnqueued/assertPerformed/... and
 * their refute* counterparts: match the recorded jobs, and fail with an
 * inventory of what was there instead.
 */
import { describeExpectation, fail, inventory, listing, mismatches, type JobExpectation, type JobMatch, type JobView } from "./assertions.js";

/** Where a failure's stack trace starts (the public assert method). */
export type StackStart = (...args: never[]) => unknown;

/** Fails unless the jobs hold one matching `expected` (or exactly `expected.count`), in one of `states` when given. */
export function expectJobs(
  jobs: readonly JobView[],
  noun: string,
  type: string,
  expected: JobExpectation,
  states: readonly string[] | undefined,
  stackStart: StackStart,
): void {
  const match: JobMatch = {};
  if (expected.args !== undefined) match.args = expected.args;
  if (expected.queue !== undefined) match.queue = expected.queue;
  if (expected.meta !== undefined) match.meta = expected.meta;
  const why = (j: JobView): string[] => {
    const out = mismatches(j, type, match);
    if (out.length === 0 && states && !states.includes(j.state)) out.push(`it is ${j.state}`);
    return out;
  };
  const n = jobs.filter((j) => why(j).length === 0).length;
  if (expected.count === undefined ? n > 0 : n === expected.count) return;
  const what = states ? states.join(" or ") : noun;
  const head =
    expected.count === undefined
      ? `Expected a ${describeExpectation(type, match)} to be ${what}, but none was.`
      : `Expected exactly ${expected.count} ${describeExpectation(type, match, expected.count !== 1)} to be ${what}, found ${n}.`;
  fail(
    `${head}\n${inventory(noun, jobs, type, why)}`,
    stackStart,
    expected.count === undefined ? undefined : { actual: n, expected: expected.count, operator: "strictEqual" },
  );
}

/** Fails if any of the jobs matches. */
export function refuteJobs(jobs: readonly JobView[], noun: string, type: string, match: JobMatch, stackStart: StackStart): void {
  const found = jobs.filter((j) => mismatches(j, type, match).length === 0);
  if (found.length === 0) return;
  fail(`Expected no ${describeExpectation(type, match)} to be ${noun}, but found ${found.length}:\n${listing(found)}`, stackStart);
}
