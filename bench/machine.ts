/** What a bench report says about where it ran: the machine, its load, and the commit measured. */
import { execFileSync } from "node:child_process";
import os from "node:os";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** The 1/5/15-minute load averages: other work on the machine skews every figure. */
export const loadAverage = (): number[] => os.loadavg().map((l) => Math.round(l * 100) / 100);

export function git(...args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

/** The commit measured, and whether src/ differs from it. */
export const gitState = (): { commit: string; dirty: boolean } => ({
  commit: git("rev-parse", "--short", "HEAD"),
  dirty: git("status", "--porcelain", "--", "src").length > 0,
});
