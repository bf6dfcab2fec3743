import type { Health, Manifest } from "../model/system.js";
import { Store, type StoreOptions } from "./store/store.js";
import { PACKAGE_VERSION, SPEC_VERSION } from "./version.js";

/**
 * What both protocol adapters share: the store plus the server's self-description.
 * Adapters hold no state of their own beyond open streams.
 */
export class ServerCore {
  readonly store: Store;
  readonly startedAt = Date.now();
  draining = false;

  constructor(opts: StoreOptions = {}) {
    this.store = new Store(opts);
  }

  manifest(): Manifest {
    return {
      specversion: SPEC_VERSION,
      implementation: { name: "ojs-connect", version: PACKAGE_VERSION, language: "typescript" },
      conformanceLevel: 4,
      protocols: ["http", "grpc"],
      backend: "memory",
      extensions: [],
      schemaValidation: false,
    };
  }

  health(): Health {
    return {
      status: this.draining ? "degraded" : "ok",
      timestamp: new Date(),
      details: { backend: { type: "memory", status: "ok" }, uptime_seconds: Math.floor((Date.now() - this.startedAt) / 1000) },
    };
  }

  close(): void {
    this.store.close();
  }
}
