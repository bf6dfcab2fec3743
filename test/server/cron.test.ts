import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/model/errors.js";
import { CronScheduler } from "../../src/server/store/cron.js";
import { parseEveryDuration, parseSchedule, validTimezone } from "../../src/server/store/cron-expr.js";
import { Store } from "../../src/server/store/store.js";
import { FakeClock } from "./fake-clock.js";

const at = (iso: string) => new Date(iso);
const next = (expr: string, after: string, tz = "UTC", anchor = Date.parse(after)) => parseSchedule(expr, tz, anchor).next(at(after))?.toISOString();

describe("cron expressions (next run)", () => {
  it("five fields", () => {
    expect(next("*/5 * * * *", "2026-01-01T00:02:00Z")).toBe("2026-01-01T00:05:00.000Z");
    expect(next("30 2 * * *", "2026-01-01T03:00:00Z")).toBe("2026-01-02T02:30:00.000Z");
  });
  it("six fields start with seconds", () => {
    expect(next("*/10 * * * * *", "2026-01-01T00:00:03Z")).toBe("2026-01-01T00:00:10.000Z");
  });
  it("macros, including @midnight which croner lacks", () => {
    expect(next("@daily", "2026-01-01T10:00:00Z")).toBe("2026-01-02T00:00:00.000Z");
    expect(next("@midnight", "2026-01-01T10:00:00Z")).toBe("2026-01-02T00:00:00.000Z");
    expect(next("@hourly", "2026-01-01T10:20:00Z")).toBe("2026-01-01T11:00:00.000Z");
    expect(next("@weekly", "2026-01-01T10:00:00Z")).toBe("2026-01-04T00:00:00.000Z");
    expect(next("@yearly", "2026-03-01T00:00:00Z")).toBe("2027-01-01T00:00:00.000Z");
  });
  it("IANA time zones, across daylight saving", () => {
    expect(next("0 9 * * *", "2026-01-01T00:30:00Z", "Asia/Tokyo")).toBe("2026-01-02T00:00:00.000Z");
    expect(next("0 9 * * *", "2026-01-01T00:00:00Z", "America/New_York")).toBe("2026-01-01T14:00:00.000Z");
    expect(next("0 9 * * *", "2026-07-01T00:00:00Z", "America/New_York")).toBe("2026-07-01T13:00:00.000Z");
  });
  it("@every <duration> counts from the anchor on a fixed grid", () => {
    const anchor = Date.parse("2026-01-01T00:00:00Z");
    const s = parseSchedule("@every 90s", "UTC", anchor);
    expect(s.next(at("2026-01-01T00:00:00Z"))!.toISOString()).toBe("2026-01-01T00:01:30.000Z");
    expect(s.next(at("2026-01-01T00:01:31Z"))!.toISOString()).toBe("2026-01-01T00:03:00.000Z");
    expect(parseEveryDuration("1h30m")).toBe(5_400_000);
    expect(parseEveryDuration("PT5M")).toBe(300_000);
    expect(parseEveryDuration("5 minutes")).toBeUndefined();
  });
  it("refuses malformed expressions, out-of-range fields, unknown zones and fixed offsets", () => {
    for (const bad of ["not a valid cron", "0 0 0 0 0 0 0", "99 25 32 13 8", "@fortnightly", "@every 10ms", "0 0 30 2 *"])
      expect(() => parseSchedule(bad, "UTC", Date.now()), bad).toThrow(ValidationError);
    expect(() => parseSchedule("* * * * *", "Mars/Olympus", Date.now())).toThrow(ValidationError);
    expect(validTimezone("+05:00")).toBe(false);
    expect(validTimezone("Europe/Paris")).toBe(true);
  });
});

describe("cron scheduler", () => {
  function setup() {
    const clock = new FakeClock(Date.parse("2026-01-01T00:00:30Z"));
    const store = new Store({ clock });
    const cron = new CronScheduler(store);
    return { clock, store, cron };
  }

  it("enqueues the template on schedule, with the schedule's name in meta", () => {
    const { clock, store, cron } = setup();
    const { entry, created } = cron.register({ name: "tick", expression: "* * * * *", template: { type: "t.cron", args: [1], queue: "c" } });
    expect(created).toBe(true);
    expect(entry.nextRunAt!.toISOString()).toBe("2026-01-01T00:01:00.000Z");
    clock.advance(30_000);
    const [job] = store.fetch({ queues: ["c"] });
    expect(job!.job).toMatchObject({ type: "t.cron", args: [1], meta: { cron_name: "tick" } });
    expect(cron.get("tick")).toMatchObject({ runCount: 1 });
    expect(cron.get("tick").nextRunAt!.toISOString()).toBe("2026-01-01T00:02:00.000Z");
  });

  it("overlap skip: no new run while the previous one is unfinished; allow enqueues anyway", () => {
    const { clock, store, cron } = setup();
    cron.register({ name: "skip", expression: "* * * * *", template: { type: "t.a", args: [], queue: "s" } });
    cron.register({ name: "allow", expression: "* * * * *", overlapPolicy: "allow", template: { type: "t.b", args: [], queue: "a" } });
    clock.advance(30_000 + 120_000);
    expect(store.countByState("s").available).toBe(1);
    expect(store.countByState("a").available).toBe(3);
  });

  it("register is an upsert; unregister and disable stop the runs; close stops the timer", () => {
    const { clock, store, cron } = setup();
    cron.register({ name: "x", expression: "* * * * *", template: { type: "t.a", args: [], queue: "u" } });
    expect(cron.register({ name: "x", expression: "*/2 * * * *", template: { type: "t.a", args: [], queue: "u" } }).created).toBe(false);
    cron.setEnabled("x", false);
    clock.advance(600_000);
    expect(store.countByState("u").available).toBe(0);
    cron.setEnabled("x", true);
    expect(clock.pending).toBe(1);
    cron.close();
    expect(clock.pending).toBe(0);
    expect(() => cron.register({ name: "Bad Name", expression: "* * * * *", template: { type: "t.a", args: [] } })).toThrow(ValidationError);
  });
});
