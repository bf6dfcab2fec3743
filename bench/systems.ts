/**
 * Starting one system of the bench for one round, in fresh processes: our
 * server on the memory store (gRPC, gRPC with standard methods only, HTTP), a
 * throwaway Redis for BullMQ, or a durable system (durable.ts). Whatever was
 * started is stopped by the returned `stop()`, or on exit through procs.ts.
 */
import { ojsBackend, redisBackend, type Backend } from "./backends.js";
import type { DriverName } from "./common.js";
import { loadIoredis, type RedisCtor } from "./deps.js";
import { isDurable, startDurable } from "./durable.js";
import { onCleanup, type ForkOptions } from "./procs.js";
import { startRedis } from "./redis.js";

export interface StartedSystem {
  backend: Backend;
  /** What it ran on (Redis or PostgreSQL version), for the report. */
  version?: string;
  stop(): Promise<void>;
}

/** Starts `driver`'s backend for round `round` (0-based), or says why it cannot run on this machine. */
export async function startSystem(
  driver: DriverName,
  round: number,
  log: (s: string) => void,
  profile?: ForkOptions["profile"],
): Promise<StartedSystem | { skipped: string }> {
  if (isDurable(driver)) return startDurable(driver, log, profile, round);
  if (driver !== "bullmq") {
    const backend = await ojsBackend(profile, driver !== "grpc-standard");
    return { backend, stop: () => backend.close() };
  }
  const Redis = await loadIoredis(true, log);
  const redis = "prototype" in Redis ? await startRedis(log) : { skipped: Redis.missing };
  if ("skipped" in redis) return redis;
  onCleanup(redis.killNow);
  return { backend: await redisBackend(redis.url, redis.pid, Redis as RedisCtor), version: redis.version, stop: () => redis.stop() };
}
