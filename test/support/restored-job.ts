import type { RestoredJob } from "../../src/server/store/changes.js";

/** A job record's kept fields, compared as objects (a Date read back as a string fails toEqual); the journal tests compare stores by it. */
export function kept(r: RestoredJob) {
  return {
    job: r.job,
    extra: r.extra,
    retry: r.retry,
    leaseDeadline: r.leaseDeadline,
    workerId: r.workerId,
    uniqueKey: r.uniqueKey,
    deadLetter: r.deadLetter,
    progress: r.progress,
    directiveOnClaim: r.directiveOnClaim,
    workflowStep: r.workflowStep,
  };
}
