/**
 * The admin-api and webhooks extensions over the HTTP binding are tables like
 * the core one (../operations.ts): one row per method of their transport
 * interface, with its verb, path and JSON conversion. bindTable() makes the
 * methods, each one request run by the HTTP transport's exchange().
 */
import type { HttpBinding } from "../operation-spec.js";
import type { CallOptions } from "../transport.js";

type Method = (...a: never[]) => Promise<unknown>;

/** One row: the binding, how many arguments come before the call options, and the operation's name when it depends on them. */
export type ExtensionRow<F extends Method> = HttpBinding<Parameters<F>, Awaited<ReturnType<F>>> & {
  args: number;
  operation?(args: Parameters<F>): string;
};

export type ExtensionTable<T extends { [K in keyof T]: Method }> = { [K in keyof T]: ExtensionRow<T[K]> };

/** What a table needs of the HTTP transport: one request described by a binding. */
export interface BindingCaller {
  exchange<P extends unknown[], O>(b: HttpBinding<P, O>, args: P, opts: CallOptions | undefined, operation: string): Promise<O>;
}

/** The methods of `table` over `http`; errors name each operation `${prefix}.${method}`. */
export function bindTable<T extends { [K in keyof T]: Method }>(table: ExtensionTable<T>, prefix: string, http: BindingCaller): T {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(table)) {
    const row = table[name as keyof T] as unknown as HttpBinding<unknown[], unknown> & { args: number; operation?(args: unknown[]): string };
    out[name] = (...args: unknown[]) => http.exchange(row, args, args[row.args] as CallOptions | undefined, row.operation?.(args) ?? `${prefix}.${name}`);
  }
  return out as T;
}
