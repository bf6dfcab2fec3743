/**
 * With the PostgreSQL store, the features that still live in the process
 * (workflows, cron schedules registered through the API, schema registration)
 * would act on the in-process state machine, which no longer holds the jobs:
 * a workflow's jobs would be created where no worker of the database sees
 * them. Until they move into the database, their entry points refuse with
 * `unimplemented` ("unsupported: ..."), never a silent wrong answer.
 */
import { UnimplementedError } from "../../../model/errors.js";
import type { ServerCore } from "../../core.js";

function refuse(what: string): () => never {
  return () => {
    throw new UnimplementedError(`unsupported: ${what} is not yet supported by the PostgreSQL store`);
  };
}

export function refuseInProcessFeatures(core: ServerCore): void {
  // Instance properties shadow the prototype methods of this core's objects only.
  Object.assign(core.store.workflows, { create: refuse("workflows") });
  Object.assign(core.cron, { register: refuse("cron through the API (use PgJobStore.registerCron)") });
  Object.assign(core.schemas, { register: refuse("schema registration") });
}
