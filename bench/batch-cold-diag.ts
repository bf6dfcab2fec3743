/**
 * V8's trace lines of one section of a process, summed (bench/batch-cold.ts --diag): collections
 * from --trace-gc-nvp (pauses, bytes allocated, copied inside the young generation, promoted),
 * functions TurboFan finished from --trace-opt (OSR entries apart) and deopts from --trace-deopt,
 * by function name.
 */

/** V8 prints an anonymous function as `<JSFunction (sfi = ...)>`. */
const nameOf = (captured: string) => (captured.startsWith("(") ? "(anonymous)" : captured);

export class DiagTally {
  scavenges = 0;
  markCompacts = 0;
  gcPauseMs = 0;
  allocated = 0;
  copiedInNew = 0;
  promoted = 0;
  optimized = new Map<string, number>();
  osr = 0;
  compileMs = 0;
  deopts = new Map<string, number>();

  add(line: string): void {
    if (line.includes(" pause=") && line.includes(" gc=")) return this.gc(line);
    const done = /^\[completed (?:compiling|optimizing) .*?<JSFunction ([^ >]+).*?took ([\d.]+), ([\d.]+), ([\d.]+) ms/.exec(line);
    if (done) {
      const fn = nameOf(done[1]!);
      this.optimized.set(fn, (this.optimized.get(fn) ?? 0) + 1);
      if (line.includes("OSR")) this.osr++;
      this.compileMs += Number(done[2]) + Number(done[3]) + Number(done[4]);
      return;
    }
    const out = /^\[bailout \(kind: ([^,]+), reason: ([^)]*)\).*?<JSFunction ([^ >]+)/.exec(line);
    if (out) {
      const key = `${nameOf(out[3]!)} (${out[1]}: ${out[2]})`;
      this.deopts.set(key, (this.deopts.get(key) ?? 0) + 1);
    }
  }

  private gc(line: string): void {
    const f = new Map(line.split(" ").map((kv) => kv.split("=") as [string, string]));
    const pause = Number(f.get("pause") ?? 0);
    if (f.get("gc") === "s") this.scavenges++;
    else this.markCompacts++;
    this.gcPauseMs += pause;
    this.allocated += Number(f.get("allocated") ?? 0);
    this.copiedInNew += Number(f.get("new_space_survived") ?? 0);
    this.promoted += Number(f.get("promoted") ?? 0);
  }

  summary(): string {
    const kb = (n: number) => `${Math.round(n / 1024)} KB`;
    const names = (m: Map<string, number>) => [...m].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(", ");
    const opt = [...this.optimized.values()].reduce((a, b) => a + b, 0);
    const de = [...this.deopts.values()].reduce((a, b) => a + b, 0);
    return (
      `gc: ${this.scavenges} scav + ${this.markCompacts} mc, ${this.gcPauseMs.toFixed(1)} ms, alloc ${kb(this.allocated)}, copied ${kb(this.copiedInNew)}, promoted ${kb(this.promoted)}; ` +
      `turbofan: ${opt} (${this.osr} OSR, ${this.compileMs.toFixed(1)} ms) [${names(this.optimized)}]; deopts: ${de} [${names(this.deopts)}]`
    );
  }
}

export const emptyDiag = (): DiagTally => new DiagTally();

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
