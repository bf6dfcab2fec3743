/**
 * PgJob (a row as the PostgreSQL store reads it) to the JobRecord the
 * adapters encode. A database store answers fresh copies, so the in-process
 * bookkeeping fields (ready lists, timer versions, consumers) are inert.
 */
import type { JobRecord } from "../store.js";
import type { PgJob } from "./rows.js";

export function toRecord(p: PgJob): JobRecord {
  return {
    id: p.job.id,
    job: p.job,
    extra: p.extra,
    retry: p.retry,
    ready: false,
    version: 0,
    lease: 0,
    leaseDeadline: p.leaseDeadline,
    claim: 0,
    workerId: p.workerId,
    consumer: undefined,
    heldBy: p.workerId,
    started: true,
    freeReclaims: 0,
    uniqueKey: p.uniqueKey,
    deadLetter: p.deadLetter,
    finishSeq: 0,
    progress: p.progress,
    directiveOnClaim: undefined,
    workflowStep: undefined,
    queuedBytes: 0,
  };
}
