import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";

const root = join(import.meta.dirname, "..", "..");
const buf = join(root, "node_modules", ".bin", "buf");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe("the ojs.v1 contract", () => {
  it("gen/ is exactly what buf generate makes from proto/ (regenerate with npm run generate)", () => {
    const out = mkdtempSync(join(tmpdir(), "ojs-gen-"));
    try {
      execFileSync(buf, ["generate", "--output", out], { cwd: root, stdio: "pipe" });
      const fresh = files(join(out, "gen"))
        .map((f) => relative(join(out, "gen"), f))
        .sort();
      const committed = files(join(root, "gen"))
        .map((f) => relative(join(root, "gen"), f))
        .sort();
      expect(committed).toEqual(fresh);
      for (const f of fresh) expect(readFileSync(join(root, "gen", f), "utf8"), f).toBe(readFileSync(join(out, "gen", f), "utf8"));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it("buf lint is clean", () => {
    expect(() => execFileSync(buf, ["lint"], { cwd: root, stdio: "pipe" })).not.toThrow();
  }, 60_000);

  it("declares the service and every RPC of the official ojs.v1 package, in order", () => {
    expect(OJSService.typeName).toBe("ojs.v1.OJSService");
    expect(OJSService.methods.map((m) => m.name)).toEqual([
      "Manifest",
      "Health",
      "Enqueue",
      "EnqueueBatch",
      "GetJob",
      "CancelJob",
      "Fetch",
      "Ack",
      "Nack",
      "Heartbeat",
      "StreamJobs",
      "StreamEvents",
      "ListQueues",
      "QueueStats",
      "PauseQueue",
      "ResumeQueue",
      "ListDeadLetter",
      "RetryDeadLetter",
      "DeleteDeadLetter",
      "RegisterCron",
      "UnregisterCron",
      "ListCron",
      "CreateWorkflow",
      "GetWorkflow",
      "CancelWorkflow",
    ]);
    expect(OJSService.method.streamJobs.methodKind).toBe("server_streaming");
    expect(OJSService.method.streamEvents.methodKind).toBe("server_streaming");
  });
});
