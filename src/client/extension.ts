/**
 * What `client.admin` and `client.webhooks` share: the transport's operations
 * for their extension, and the Client's retry policy to run each call with.
 */
import { UnimplementedError } from "../model/errors.js";
import type { CallOptions, Transport } from "../transport/transport.js";

/** Runs a call with the client's retry policy when `idempotent`. */
export type CallRunner = <T>(idempotent: boolean, call: CallOptions | undefined, fn: (call: CallOptions | undefined) => Promise<T>) => Promise<T>;

export abstract class ExtensionClient<K extends "admin" | "webhooks"> {
  /** Which of the transport's extensions this client calls. */
  protected abstract readonly extension: K;

  /** Made by `Client`; use `client.admin` or `client.webhooks`. */
  constructor(
    private readonly transport: Transport,
    protected readonly run: CallRunner,
  ) {}

  /** The extension's operations; UnimplementedError for a transport without them. */
  protected get t(): NonNullable<Transport[K]> {
    const ops = this.transport[this.extension];
    if (!ops)
      throw new UnimplementedError(`the ${this.transport.name} transport has no ${this.extension === "admin" ? "admin" : "webhook"} operations`, {
        operation: this.extension,
      });
    return ops as NonNullable<Transport[K]>;
  }
}
