/**
 * An object whose methods call the same methods of another object, made on
 * first use: how the gRPC transport offers what ojs.v1 has no RPC for (the
 * webhooks and most of the admin-api extension go to its HTTP binding).
 */
export function forwardTo<T, K extends keyof T>(target: () => T, methods: readonly K[]): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const name of methods) {
    const call = (...args: unknown[]): unknown => {
      const t = target();
      return Reflect.apply(t[name] as (...a: unknown[]) => unknown, t, args);
    };
    out[name] = call as T[K];
  }
  return out as Pick<T, K>;
}
