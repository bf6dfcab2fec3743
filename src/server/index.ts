/**
 * The embedded OJS server: gRPC, Connect and the HTTP/JSON binding on one port,
 * with an in-memory store. For development, tests and demos; point the same
 * client code at an official Redis or Postgres backend in production.
 *
 * ```ts
 * import { startServer } from "ojs-connect/server";
 * await using server = await startServer({ port: 8080 });
 * ```
 */
export { startServer, type OjsServer, type ServerOptions } from "./server.js";
export type { UiOptions } from "./http/ui-options.js";
export { DEFAULT_LIMITS, type Limits } from "../model/limits.js";
export type { Clock, TimerHandle } from "./store/clock.js";
export type { SecurityOptions } from "./auth/setup.js";
export type { AuthKey, AuthOptions, CertificateRule } from "./auth/keys.js";
export { ROLES, type Role } from "./auth/roles.js";
export type { TlsOptions } from "./tls.js";
export { DEFAULT_WEBHOOK_BACKOFF_MS, type WebhookDeliveryOptions } from "./webhooks/deliveries.js";
