/**
 * Real mode: the embedded server on a free port, for tests that want real
 * sockets, real workers and either transport.
 */
import { AsyncLocalStorage, createHook } from "node:async_hooks";
import { Client, type ClientOptions } from "../client/client.js";
import { TimeoutError } from "../model/errors.js";
import { TERMINAL_STATES, type Job, type JobState } from "../model/job.js";
import { startServer, type ServerOptions } from "../server/server.js";
import type { Clock } from "../server/store/clock.js";
import type { Store } from "../server/store/store.js";
import { Worker, type WorkerOptions } from "../worker/worker.js";
import { serverCore } from "../server/internal.js";

/** Options of startTestServer(). */
export interface TestServerOptions extends Omit<ServerOptions, "store"> {
  /** The server's time, e.g. a VirtualClock to move with advance(); default the system clock. */
  clock?: Clock;
  /** Randomness for retry jitter, in [0, 1); default Math.random. */
  random?: () => number;
  /**
   * Registers the server's close with your test framework, so it is closed
   * even when a test fails: `afterAll` or `onTestFinished` (vitest), `after`
   * or `t.after` (node:test). Without it, close the server yourself
   * (`await using server = await startTestServer()` does).
   */
  cleanup?: (fn: () => Promise<void>) => unknown;
}

/** Options of testServer.waitForJob(). */
export interface WaitForJobOptions {
  /** The states to wait for; default any terminal state (completed, cancelled, discarded). */
  state?: JobState | readonly JobState[];
  /** Real time; default 5 000 ms. */
  timeoutMs?: number;
}

/** An embedded server for tests, with a virtual clock and helpers to wait for and inspect jobs. */
export interface TestServer extends AsyncDisposable {
  /** Base URL for gRPC and HTTP clients alike. */
  readonly url: string;
  readonly port: number;
  /** Empties the server (jobs, queues, workers, workflows, cron, schemas), e.g. in beforeEach. */
  reset(): void;
  /** A Client on this server, closed when the server is. */
  client(opts?: Omit<ClientOptions, "url">): Client;
  /** A Worker on this server that leaves process signals alone, stopped when the server is. */
  worker(opts?: Omit<WorkerOptions, "url">): Worker;
  /** Resolves with the job once it is in one of the states, read from the server's store. */
  waitForJob(id: string, opts?: WaitForJobOptions): Promise<Job>;
  /** Stops its workers (without grace), closes its clients, then the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the embedded server on a free port of 127.0.0.1. Its listening socket
 * does not keep the process alive, so a server a test forgot to close never
 * hangs the test run.
 *
 * ```ts
 * const server = await startTestServer({ cleanup: afterAll });
 * beforeEach(() => server.reset());
 * ```
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const { clock, random, cleanup, ...serverOpts } = opts;
  const store: ServerOptions["store"] = {};
  if (clock) store.clock = clock;
  if (random) store.random = random;
  const server = await unrefListening(() => startServer({ port: 0, ...serverOpts, store }));
  const clients = new Set<Client>();
  const workers = new Set<Worker>();
  let closing: Promise<void> | undefined;

  // No method uses `this`: `const { url, client, waitForJob } = server` is fine.
  const handle: TestServer = {
    url: server.url,
    port: server.port,
    reset: () => server.reset(),
    client(o = {}) {
      const c = new Client({ ...o, url: server.url });
      clients.add(c);
      return c;
    },
    worker(o = {}) {
      const w = new Worker({ handleSignals: false, ...o, url: server.url });
      workers.add(w);
      return w;
    },
    waitForJob: (id, o = {}) => waitForJob(serverCore(server).store, id, o),
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...workers].map((w) => w.stop({ gracePeriodMs: 0 })));
        await Promise.allSettled([...clients].map((c) => c.close()));
        await server.close();
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return handle.close();
    },
  };
  cleanup?.(() => handle.close());
  return handle;
}

async function waitForJob(store: Store, id: string, opts: WaitForJobOptions): Promise<Job> {
  const wanted: ReadonlySet<JobState> = opts.state === undefined ? TERMINAL_STATES : new Set(typeof opts.state === "string" ? [opts.state] : opts.state);
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const read = (): Job | undefined => (store.has(id) ? store.get(id).job : undefined);
  const now = read();
  if (now && wanted.has(now.state)) return structuredClone(now);
  return new Promise<Job>((resolve, reject) => {
    const check = () => {
      const job = read();
      if (!job || !wanted.has(job.state)) return;
      done();
      resolve(structuredClone(job));
    };
    // Events cover most changes; the interval catches what time alone changes (a delayed job falling due).
    const unsubscribe = store.events.subscribe((e) => {
      if (e.jobId === id) check();
    });
    const poll = setInterval(check, 25);
    const timer = setTimeout(() => {
      done();
      const job = read();
      const states = [...wanted].join(" or ");
      reject(
        new TimeoutError(`job ${id} was not ${states} within ${timeoutMs} ms; it is ${job ? job.state : "unknown to the server"}`, { operation: "waitForJob" }),
      );
    }, timeoutMs);
    poll.unref();
    timer.unref();
    function done() {
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
    }
  });
}

/**
 * Runs `start` and unrefs the listening socket it creates. startServer() has
 * no option for it, and the handle is not reachable through the server it
 * returns: the TCP server handle created inside this call is found with an
 * async hook scoped to it by AsyncLocalStorage, so servers started elsewhere
 * at the same moment are not touched. Best effort: if the hook finds nothing,
 * the server simply stays referenced.
 */
async function unrefListening<T>(start: () => Promise<T>): Promise<T> {
  const scope = new AsyncLocalStorage<symbol>();
  const mark = Symbol("startTestServer");
  const handles: Array<{ unref?: () => void }> = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === "TCPSERVERWRAP" && scope.getStore() === mark) handles.push(resource as { unref?: () => void });
    },
  });
  hook.enable();
  try {
    return await scope.run(mark, start);
  } finally {
    hook.disable();
    for (const h of handles) h.unref?.();
  }
}
