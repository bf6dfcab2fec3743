import { resolveLimits, type Limits } from "../model/limits.js";
import type { Health, Manifest } from "../model/system.js";
import { QueuedBytes } from "./queued-bytes.js";
import { CronScheduler } from "./store/cron.js";
import type { Journal } from "./store/journal/journal.js";
import { SchemaRegistry, type SchemaValidationMode } from "./store/schemas.js";
import { Store, type StoreOptions } from "./store/store.js";
import type { JobStore } from "./store/job-store.js";
import { SyncJobStore } from "./store/sync-job-store.js";
import { engineWorkflows, type WorkflowService } from "./store/workflow-service.js";
import { memoryRateLimitAdmin, type RateLimitAdmin } from "./store/rate-limit-admin.js";
import { Webhooks } from "./webhooks/webhooks.js";
import { TenantLimits } from "./tenancy/limits.js";
import { memoryTenantAdmin, type TenantAdmin } from "./tenancy/admin.js";
import type { WebhookDeliveryOptions } from "./webhooks/deliveries.js";
import { PACKAGE_VERSION, SPEC_VERSION } from "./version.js";

/**
 * Extensions the embedded server implements, as the manifest names them.
 * Not here, and why (see docs/conformance.md): "middleware" (the server runs no
 * enqueue middleware of its own; middleware is a client and worker feature).
 */
export const SUPPORTED_EXTENSIONS = [
  "dead-letter",
  "graceful-shutdown",
  "schema-registry",
  "observability",
  "backpressure",
  "progress",
  "events",
  "admin-api",
  "rate-limiting",
  "webhooks",
  "multi-tenancy",
  // Codecs run in the SDK (src/codec/payload); the server keeps encoded args and codec meta as given.
  "encryption",
  "durable-execution",
  // Our own: pipelined enqueue/ack/nack streams for ojs-connect clients (src/server/grpc/raw.ts).
  "ojs-connect.fastpath.v1",
  // Our own, part of the fast path: EnqueueBatch answered without what each job shares with its entry.
  "ojs-connect.compact-batch.v1",
  // Our own, part of the fast path: EnqueueStream answers a client that asks for it without what each new job shares with its request.
  "ojs-connect.assigned-enqueue.v1",
  // Our own: the gRPC binding reads the reserved meta keys ("ojs.id" and co., codec/proto.ts) that
  // carry what the standard messages have no field for. Listed with the fast path on or off.
  "ojs-connect.reserved-meta.v1",
] as const;

export interface CoreOptions extends StoreOptions {
  /** How enqueued args are checked against registered schemas (SR §7); default "warn". */
  schemaValidation?: SchemaValidationMode;
  /** What a request may carry (docs/limits.md); defaults for what is not given. */
  limits?: Partial<Limits>;
  /** Offer the private fast path (FAST_PATH_EXTENSION); default true. */
  fastPath?: boolean;
  /** How webhook deliveries are made (backoff, timeout, queue bound); defaults per ojs-webhooks.md §7. */
  webhooks?: WebhookDeliveryOptions;
}

/** Our private extension: pipelined enqueue/ack/nack streams (src/server/grpc/raw.ts). */
export const FAST_PATH_EXTENSION = "ojs-connect.fastpath.v1";
/** Part of the fast path (listed with it, or not at all): the compact answer to EnqueueBatch. */
export const COMPACT_BATCH_EXTENSION = "ojs-connect.compact-batch.v1";
/** Part of the fast path: EnqueueStream's AssignedJob answers (ENQUEUE_ANSWER_HEADER, src/codec/wire/assigned.ts). */
export const ASSIGNED_ENQUEUE_EXTENSION = "ojs-connect.assigned-enqueue.v1";
const FAST_PATH_ONLY: ReadonlySet<string> = new Set([FAST_PATH_EXTENSION, COMPACT_BATCH_EXTENSION, ASSIGNED_ENQUEUE_EXTENSION]);

/** Distinct gRPC method paths tallied in ServerCore.grpcCalls; paths come from clients, so the tally is bounded. */
const MAX_TALLIED_METHODS = 64;

/**
 * What both protocol adapters share: the store, the cron scheduler, the schema
 * registry and the server's self-description. Adapters hold no state of their
 * own beyond open streams.
 */
export class ServerCore {
  /**
   * The in-process state machine. Adapters read and write jobs through `jobs`;
   * they use `store` directly only for what is not behind the seam yet
   * (clock, events, workflows, rate limits).
   */
  readonly store: Store;
  /**
   * Where jobs are read and written (store/job-store.ts): the memory store until
   * startServer() attaches another. Adapters take it when they are built, so a
   * store is attached (attachJobStore, or `journal = ...`) before them.
   */
  jobs: JobStore;
  readonly cron: CronScheduler;
  private engineWorkflows: WorkflowService | undefined;
  /** Webhook subscriptions and deliveries (src/server/webhooks). */
  readonly webhooks: Webhooks;
  readonly schemas = new SchemaRegistry();
  readonly schemaValidation: SchemaValidationMode;
  readonly conformanceHooks: boolean;
  /** The limits both bindings enforce (src/model/limits.ts). */
  readonly limits: Readonly<Limits>;
  /** Bytes held by unfinished jobs, against limits.maxQueuedBytes. */
  readonly queued: QueuedBytes;
  /** Per-tenant limits and unfinished-job counts (multi-tenancy). */
  readonly tenants = new TenantLimits();
  readonly startedAt = Date.now();
  draining = false;
  /** Requests served, by HTTP status class and gRPC outcome, for /metrics. */
  readonly counters = new Map<string, number>();
  /** Closers of open long-lived streams (SSE, StreamJobs), ended on close(). */
  readonly streams = new Set<() => void>();
  private journalBehind: Journal | undefined;

  /** The durable journal behind the state machine (store/journal); none for the memory store. */
  get journal(): Journal | undefined {
    return this.journalBehind;
  }

  /** Attaching a journal makes `jobs` the journal store (writes answered once on disk); detaching, the memory store again. */
  set journal(journal: Journal | undefined) {
    this.journalBehind = journal;
    this.jobs = journal
      ? new SyncJobStore(this.store, { kind: "journal", durable: () => journal.durable(), close: () => journal.close() })
      : new SyncJobStore(this.store, { kind: "memory" });
  }

  /** False: the server offers only the standard ojs.v1 methods, as any other ojs.v1 server. */
  readonly fastPath: boolean;
  /** gRPC requests received, by method path ("/ojs.v1.OJSService/Enqueue"): which methods clients use. */
  readonly grpcCalls = new Map<string, number>();

  /** The keys of per-job rate limits as the adapters inspect them: the job store's own (a database store), else the in-process ones. */
  get rateLimits(): RateLimitAdmin {
    return this.jobs.rateLimits ?? (this.memoryRateLimits ??= memoryRateLimitAdmin(this.store.rateLimits));
  }
  private memoryRateLimits: RateLimitAdmin | undefined;

  /** Tenant counts and limits as the admin routes use them: the job store's own (a database store), else the in-process ones. */
  get tenantAdmin(): TenantAdmin {
    return this.jobs.tenants ?? (this.memoryTenants ??= memoryTenantAdmin(this.tenants, () => this.store.rawJobRecords()));
  }
  private memoryTenants: TenantAdmin | undefined;

  /** Workflows as the adapters use them: the job store's own (a database store), else the in-process engine. */
  get workflows(): WorkflowService {
    return this.jobs.workflows ?? (this.engineWorkflows ??= engineWorkflows(this.store.workflows));
  }

  constructor(opts: CoreOptions = {}) {
    const { schemaValidation, limits, webhooks, fastPath, ...storeOpts } = opts;
    this.fastPath = fastPath ?? true;
    this.limits = resolveLimits(limits);
    this.queued = new QueuedBytes(this.limits.maxQueuedBytes);
    // The store's ledger of unfinished jobs feeds the queued bytes and the per-tenant depths.
    const queued = this.queued;
    const tenants = this.tenants;
    this.store = new Store({
      ...storeOpts,
      accounting: {
        enter: (r) => {
          queued.enter(r);
          tenants.enter(r);
        },
        leave: (r) => {
          queued.leave(r);
          tenants.leave(r);
        },
        clear: () => {
          queued.clear();
          tenants.clear();
        },
      },
    });
    this.jobs = new SyncJobStore(this.store, { kind: "memory" });
    this.cron = new CronScheduler(this.store);
    this.webhooks = new Webhooks(this.store.events, webhooks);
    this.schemaValidation = schemaValidation ?? "warn";
    this.conformanceHooks = opts.conformanceHooks ?? false;
  }

  manifest(): Manifest {
    return {
      specversion: SPEC_VERSION,
      implementation: { name: "ojs-connect", version: PACKAGE_VERSION, language: "typescript" },
      conformanceLevel: 4,
      protocols: ["http", "grpc"],
      backend: this.jobs.kind,
      extensions: this.fastPath ? [...SUPPORTED_EXTENSIONS] : SUPPORTED_EXTENSIONS.filter((e) => !FAST_PATH_ONLY.has(e)),
      schemaValidation: this.schemaValidation !== "off",
    };
  }

  health(): Health {
    const degraded = this.draining || this.journal?.failing === true;
    return {
      status: degraded ? "degraded" : "ok",
      timestamp: new Date(),
      details: {
        backend: { type: this.jobs.kind, status: degraded ? "degraded" : "ok" },
        uptime_seconds: Math.floor((Date.now() - this.startedAt) / 1000),
        version: PACKAGE_VERSION,
      },
    };
  }

  /** Set by the server: told of every answer that is a fault of the server (5xx, gRPC INTERNAL...). */
  onFault: ((error: unknown, where: string) => void) | undefined;

  /** Reports a server fault to onFault (the server's logger). */
  fault(error: unknown, where: string): void {
    this.onFault?.(error, where);
  }

  /**
   * Resolves once every change made so far is durable; undefined when there is
   * nothing to wait for (always, with the memory store). Adapters await it
   * before answering an enqueue, ack, nack or other write. Rejects with a
   * retryable "unavailable" error when the journal cannot be written.
   */
  durable(): Promise<void> | undefined {
    return this.jobs.durable();
  }

  countGrpcCall(path: string): void {
    const n = this.grpcCalls.get(path);
    if (n !== undefined) this.grpcCalls.set(path, n + 1);
    else if (this.grpcCalls.size < MAX_TALLIED_METHODS) this.grpcCalls.set(path, 1);
  }

  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  reset(): void {
    this.store.reset();
    this.cron.reset();
    this.webhooks.reset();
    this.tenants.reset();
    this.schemas.clear();
    this.journal?.reset();
  }

  close(): void {
    for (const stop of [...this.streams]) stop();
    this.cron.close();
    this.webhooks.close();
    this.store.close();
  }
}
