// The admin suite, unchanged, against the PostgreSQL store (a private cluster, a database per server).
// Skipped with the reason where the PostgreSQL binaries are missing.
import { it } from "vitest";
import { useStore } from "../helpers.js";
import { postgresSkipReason } from "../support/postgres.js";

const skip = postgresSkipReason();
if (skip) it("admin suite on PostgreSQL", (ctx) => ctx.skip(skip));
else {
  useStore("postgres");
  await import("./admin.test.js");
}
