/**
 * Workflows (chain, group, batch, dag) on PostgreSQL, for several servers on
 * one database. The rules are the in-process engine's (../workflows.ts): each
 * state change loads the workflow's record from ojs_workflows under a row
 * lock, runs the engine over it in that transaction, and writes back the
 * record, the step jobs it started and the jobs it cancelled, all in one
 * commit. Two servers finishing steps of the same workflow take turns on the
 * row lock, so neither loses the other's outcome.
 *
 * How a finished job reaches its workflow: a step job carries workflow_id and
 * workflow_step. Whoever finishes it (ack, nack, cancel, the reaper, on any
 * server) commits that first; then settle() takes the outcomes of the
 * workflow's finished jobs whose workflow_step is still set, and clears it.
 * The server that finished the job settles before it answers; a crash between
 * the two commits leaves a finished job with its step set, which the
 * maintenance pass (settleStray) finds through a partial index.
 */
import type { Sql, TransactionSql } from "postgres";
import { NotFoundError, OjsError } from "../../../model/errors.js";
import type { Job } from "../../../model/job.js";
import type { DagStep, WorkflowState } from "../../../model/workflow.js";
import { WorkflowEngine, type StepRecord, type WorkflowHost, type WorkflowKind, type WorkflowRecord } from "../workflows.js";
import type { WorkflowService, WorkflowView } from "../workflow-service.js";
import { buildJob, insertBuilt, type BuiltJob } from "./enqueue.js";
import { mapRejections } from "./errors.js";
import { fromRow, type JobRow } from "./rows.js";

/** A workflow's record as ojs_workflows.body keeps it (steps as a list; dates as ISO text). */
interface StoredWorkflow {
  name: string;
  kind: WorkflowKind;
  state: WorkflowState;
  createdAt: string;
  completedAt?: string;
  open: number;
  steps: StepRecord[];
}

interface WorkflowRow {
  id: string;
  body: StoredWorkflow;
}

/*
 * Finished states (a step job in one of them has an outcome for its workflow)
 * are written out in the queries below, not passed as parameters: they are the
 * predicate of the ojs_jobs_workflow_unsettled index (migration 7), and the
 * planner uses a partial index only where it can see that the query implies
 * its predicate; with parameters, a prepared statement's generic plan scans
 * the whole table.
 */

/** The engine keeps every record it is given here: retention is the database's (pruneWorkflows). */
const KEEP_ALL = Number.MAX_SAFE_INTEGER;

function toStored(wf: WorkflowRecord): StoredWorkflow {
  const out: StoredWorkflow = {
    name: wf.name,
    kind: wf.kind,
    state: wf.state,
    createdAt: wf.createdAt.toISOString(),
    open: wf.open,
    steps: [...wf.steps.values()],
  };
  if (wf.completedAt) out.completedAt = wf.completedAt.toISOString();
  return out;
}

function fromStored(id: string, s: StoredWorkflow): WorkflowRecord {
  const steps = new Map<string, StepRecord>();
  for (const st of s.steps) {
    // The step's job options went through JSON: its dates come back as text.
    const request = { ...st.request };
    if (request.scheduledAt !== undefined) request.scheduledAt = new Date(request.scheduledAt);
    if (request.expiresAt !== undefined) request.expiresAt = new Date(request.expiresAt);
    steps.set(st.id, { ...st, request });
  }
  return {
    id,
    name: s.name,
    kind: s.kind,
    state: s.state,
    steps,
    createdAt: new Date(s.createdAt),
    completedAt: s.completedAt ? new Date(s.completedAt) : undefined,
    open: s.open,
    retired: s.state !== "running",
  };
}

/** A step batch that cannot be stored makes those steps fail (as in the memory store); this carries it to the next round. */
class StepsRefused extends Error {
  constructor(
    readonly stepIds: readonly string[],
    readonly refusal: OjsError,
  ) {
    super(refusal.message);
  }
}

/**
 * The engine's host inside one transaction: the jobs it starts are built (and
 * checked) at once and stored after the engine is done; the jobs it cancels
 * are cancelled then. Steps whose jobs the database refused in an earlier
 * round are refused at once, so the engine records them as failed.
 */
class TxHost implements WorkflowHost {
  readonly batches: Array<{ built: BuiltJob[]; stepIds: string[] }> = [];
  readonly cancels: string[] = [];
  private readonly t = Date.now();

  constructor(
    private readonly refused: ReadonlyMap<string, OjsError>,
    private readonly jobs: ReadonlyMap<string, Job> = new Map(),
  ) {}

  now(): number {
    return this.t;
  }

  enqueueSteps(items: Parameters<WorkflowHost["enqueueSteps"]>[0]): Array<{ readonly id: string }> {
    for (const it of items) {
      const e = this.refused.get(it.stepId);
      if (e) throw e;
    }
    const built = items.map((it) => {
      const b = buildJob(it.req, undefined, this.t);
      b.job.workflowId = it.workflowId;
      if (it.parentResults) b.job.parentResults = it.parentResults;
      b.workflowStep = it.stepId;
      return b;
    });
    this.batches.push({ built, stepIds: items.map((i) => i.stepId) });
    return built.map((b) => ({ id: b.job.id }));
  }

  cancelJob(id: string): void {
    this.cancels.push(id);
  }

  job(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  emit(): void {
    // Events are not kept by the PostgreSQL store (docs/stores.md).
  }
}

/**
 * Runs one engine operation over the workflow (undefined: none yet, for
 * create) and stores what it did. A later step the database refuses (unique
 * conflict, depth bound) fails that step, as in the memory store: the round
 * is rolled back to its savepoint and run again with the step refused, at
 * most once per step. Answers the workflow's id.
 */
async function mutate(tx: TransactionSql, stored: WorkflowRow | undefined, op: (engine: WorkflowEngine) => string): Promise<string> {
  const refused = new Map<string, OjsError>();
  for (;;) {
    const host = new TxHost(refused);
    const engine = new WorkflowEngine(host, KEEP_ALL);
    if (stored) engine.restore(fromStored(stored.id, stored.body));
    const id = op(engine);
    try {
      await tx.savepoint(async (sp) => {
        for (const b of host.batches) {
          try {
            await insertBuilt(sp, b.built);
          } catch (e) {
            if (e instanceof OjsError && b.stepIds.some((s) => !refused.has(s))) throw new StepsRefused(b.stepIds, e);
            throw e;
          }
        }
      });
    } catch (e) {
      if (!(e instanceof StepsRefused)) throw e;
      for (const s of e.stepIds) refused.set(s, e.refusal);
      continue;
    }
    const wf = engine.peek(id)!;
    const finished = wf.state === "running" ? null : (wf.completedAt ?? new Date());
    await tx`
      INSERT INTO ojs_workflows (id, body, state, kind, created_at, finished_at, updated_at)
      VALUES (${wf.id}, ${tx.json(JSON.parse(JSON.stringify(toStored(wf))))}, ${wf.state}, ${wf.kind}, ${wf.createdAt}, ${finished}, now())
      ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, state = EXCLUDED.state, finished_at = EXCLUDED.finished_at, updated_at = now()`;
    if (host.cancels.length)
      // Running steps are left to finish; the cancelled ones are settled by the caller (settleLocked).
      await tx`
        UPDATE ojs_jobs SET state = 'cancelled', finished_at = now(), lease_deadline = NULL, worker_id = NULL
        WHERE id = ANY(${host.cancels}::uuid[]) AND state IN ('scheduled', 'pending', 'available', 'retryable')`;
    return id;
  }
}

async function lockWorkflow(tx: TransactionSql, id: string): Promise<WorkflowRow | undefined> {
  const [row] = await tx<WorkflowRow[]>`SELECT id, body FROM ojs_workflows WHERE id = ${id} FOR UPDATE`;
  return row;
}

/**
 * Hands the workflow the outcomes of its finished, not yet settled jobs,
 * under the workflow's lock (taken by the caller). Cancelling waiting steps
 * can finish more jobs, so it runs until none is left (at most once per step).
 */
async function settleLocked(tx: TransactionSql, row: WorkflowRow | undefined, workflowId: string): Promise<void> {
  for (let round = 0; round <= (row?.body.steps.length ?? 0); round++) {
    const done = await tx<JobRow[]>`
      SELECT * FROM ojs_jobs
      WHERE workflow_id = ${workflowId} AND workflow_step IS NOT NULL AND state IN ('completed', 'cancelled', 'discarded') FOR UPDATE`;
    if (done.length === 0) return;
    if (row)
      await mutate(tx, row, (engine) => {
        for (const r of done) engine.onJobFinished(workflowId, r.workflow_step!, fromRow(r).job);
        return workflowId;
      });
    await tx`UPDATE ojs_jobs SET workflow_step = NULL WHERE id = ANY(${done.map((r) => r.id)}::uuid[])`;
    if (!row) return;
    row = await lockWorkflow(tx, workflowId);
  }
}

/** The workflow as the API shows it, with the current state of its step jobs. */
async function viewOf(sql: Sql | TransactionSql, row: WorkflowRow | undefined, id: string): Promise<WorkflowView> {
  if (!row) throw new NotFoundError(`workflow ${id} not found`);
  const rec = fromStored(row.id, row.body);
  const jobIds = [...rec.steps.values()].flatMap((s) => (s.jobId ? [s.jobId] : []));
  const states = jobIds.length ? await sql<{ id: string; state: Job["state"] }[]>`SELECT id, state FROM ojs_jobs WHERE id = ANY(${jobIds}::uuid[])` : [];
  const jobs = new Map(states.map((s) => [s.id, { id: s.id, state: s.state } as Job]));
  const engine = new WorkflowEngine(new TxHost(new Map(), jobs), KEEP_ALL);
  engine.restore(rec);
  return { workflow: engine.get(id), kind: rec.kind };
}

async function readWorkflow(sql: Sql | TransactionSql, id: string): Promise<WorkflowRow | undefined> {
  const [row] = await sql<WorkflowRow[]>`SELECT id, body FROM ojs_workflows WHERE id = ${id}`;
  return row;
}

/** Workflow ids are the engine's uuidv7s; anything else is simply not found. */
function knownShape(id: string): boolean {
  return id.length > 0 && id.length <= 64;
}

export class PgWorkflows implements WorkflowService {
  constructor(
    private readonly sql: Sql,
    /** Called after a commit that made step jobs available, to wake this server's consumers. */
    private readonly woke: () => void = () => undefined,
  ) {}

  async create(name: string, kind: WorkflowKind, steps: readonly DagStep[]): Promise<WorkflowView> {
    const view = await this.sql.begin(async (tx) => {
      const id = await mutate(tx, undefined, (engine) => engine.create(name, kind, steps).id);
      return viewOf(tx, await readWorkflow(tx, id), id);
    });
    this.woke();
    return view;
  }

  async get(id: string): Promise<WorkflowView> {
    return viewOf(this.sql, knownShape(id) ? await readWorkflow(this.sql, id) : undefined, id);
  }

  async cancel(id: string): Promise<WorkflowView> {
    if (!knownShape(id)) throw new NotFoundError(`workflow ${id} not found`);
    return this.sql.begin(async (tx) => {
      const row = await lockWorkflow(tx, id);
      if (!row) throw new NotFoundError(`workflow ${id} not found`);
      await mutate(tx, row, (engine) => engine.cancel(id).id);
      await settleLocked(tx, await lockWorkflow(tx, id), id);
      return viewOf(tx, await readWorkflow(tx, id), id);
    });
  }

  async list(opts: { state?: WorkflowState; offset: number; limit: number }): Promise<{ items: WorkflowView[]; total: number }> {
    const state = opts.state ?? null;
    const rows = await this.sql<(WorkflowRow & { total: number })[]>`
      SELECT id, body, count(*) OVER ()::int AS total FROM ojs_workflows
      WHERE ${state}::text IS NULL OR state = ${state}
      ORDER BY created_at DESC, id DESC OFFSET ${opts.offset} LIMIT ${opts.limit}`;
    const items = await Promise.all(rows.map((r) => viewOf(this.sql, r, r.id)));
    let total = rows[0]?.total;
    if (total === undefined)
      total = (await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ojs_workflows WHERE ${state}::text IS NULL OR state = ${state}`)[0]!.n;
    return { items, total };
  }

  /** Moves the workflows on whose step jobs finished (each in its own transaction). */
  async settle(workflowIds: Iterable<string>): Promise<void> {
    for (const id of new Set(workflowIds)) {
      await this.sql.begin(async (tx) => settleLocked(tx, await lockWorkflow(tx, id), id));
    }
    this.woke();
  }

  /**
   * The maintenance pass: workflows with a finished job not yet settled (its
   * server crashed between the two commits, or the reaper finished it).
   * Answers how many workflows it moved on.
   */
  async settleStray(limit = 100): Promise<number> {
    const rows = await this.sql<{ workflow_id: string }[]>`
      SELECT DISTINCT workflow_id FROM ojs_jobs
      WHERE workflow_step IS NOT NULL AND state IN ('completed', 'cancelled', 'discarded') LIMIT ${limit}`;
    if (rows.length) await this.settle(rows.map((r) => r.workflow_id));
    return rows.length;
  }

  /** Retention: finished workflows older than `olderThanMs` are forgotten, at most `limit` per call. */
  async prune(olderThanMs: number, limit = 1000): Promise<number> {
    const r = await this.sql`
      DELETE FROM ojs_workflows WHERE id IN (
        SELECT id FROM ojs_workflows WHERE finished_at < now() - make_interval(secs => ${olderThanMs / 1000})
        LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
    return r.count;
  }
}

// Every promise rejects with an OjsError, as the seam's do (errors.ts).
mapRejections(PgWorkflows.prototype, ["create", "get", "cancel", "list"]);
