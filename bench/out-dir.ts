/**
 * Where a bench run writes its reports. Only a complete run asked to save
 * (`--save`) replaces the committed bench/results/latest.*; every other run goes
 * to a git-ignored directory, so that trying the bench never dirties the tree.
 */
export function benchOutDir(argv: readonly string[], resultsDir: string): string {
  const has = (name: string) => argv.includes(`--${name}`);
  const hasList = (name: string) => argv.some((a) => a.startsWith(`--${name}=`));
  if (has("profile")) return `${resultsDir}profiles/`;
  if (hasList("only") || hasList("scenarios")) return `${resultsDir}partial/`;
  if (has("save")) return resultsDir;
  return `${resultsDir}local/`;
}
