/**
 * ojs-connect/testing: test your job code without a job server, or against a
 * real one in one line.
 *
 * - `createFakeClient()`: a real Client served in process by a server of its
 *   own on virtual time. Records what is enqueued, runs it with `drain()`,
 *   inline mode, failure injection, time control. No globals: every fake is
 *   independent, so tests may run in parallel.
 * - `startTestServer()`: the embedded server on a free port, with `reset()`
 *   and cleanup that vitest and node:test can register.
 */
export {
  createFakeClient,
  FakeClient,
  type DrainOptions,
  type DrainResult,
  type FakeClientOptions,
  type JobFilter,
  type PerformedJob,
  type RunOutcome,
  type WorkflowExpectation,
} from "./fake.js";
export type { HandlerMap, Handlers } from "./executor.js";
export type { JobExpectation, JobMatch } from "./assertions.js";
export { VirtualClock } from "./clock.js";
export { startTestServer, type TestServer, type TestServerOptions, type WaitForJobOptions } from "./server.js";
export type { Clock } from "../server/store/clock.js";
export type { ProgressUpdate } from "../transport/transport.js";
