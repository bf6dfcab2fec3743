// A vitest reporter that writes what scripts/test.mjs needs and the JSON
// reporter leaves out: the reason (note) given to every skipped test, and the
// files that failed to load. Written to the file named by OJS_SUMMARY_FILE.
import { writeFileSync } from "node:fs";
import { relative } from "node:path";

export default class SummaryReporter {
  onTestRunEnd(testModules, unhandledErrors) {
    const out = { passed: 0, failed: 0, skipped: [], failedTests: [], brokenFiles: [], unhandledErrors: unhandledErrors.length };
    for (const m of testModules) {
      const file = relative(process.cwd(), m.moduleId);
      let tests = 0;
      for (const t of m.children.allTests()) {
        tests++;
        const r = t.result();
        if (r.state === "passed") out.passed++;
        else if (r.state === "failed") {
          out.failed++;
          // The first lines of its first error: CI keeps only the end of the output, where this list is printed.
          const error = r.errors?.[0];
          const why = error
            ? String(error.message ?? error)
                .split("\n")
                .slice(0, 3)
                .join(" / ")
                .slice(0, 400)
            : "";
          out.failedTests.push(`${file} > ${t.fullName}${why ? ` -- ${why}` : ""}`);
        } else out.skipped.push({ name: `${file} > ${t.fullName}`, reason: r.note ?? (t.options.mode === "todo" ? "todo" : undefined) });
      }
      // A file that failed to load (or failed in a hook outside any test) has errors of its own.
      const errors = m.errors();
      if (errors.length > 0 || (tests === 0 && m.state() === "failed")) out.brokenFiles.push({ file, error: errors[0]?.message ?? "failed" });
    }
    const path = process.env.OJS_SUMMARY_FILE;
    if (path) writeFileSync(path, JSON.stringify(out));
  }
}
