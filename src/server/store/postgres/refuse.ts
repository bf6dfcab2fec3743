/**
 * With the PostgreSQL store, the features that still live in the process
 * (workflows)
 * would act on the in-process state machine, which no longer holds the jobs:
 * a workflow's jobs would be created where no worker of the database sees
 * them. Until they move into the database, their entry points refuse with
 * `unimplemented` ("unsupported: ..."), never a silent wrong answer.
 */
import { UnimplementedError } from "../../../model/errors.js";
import type { ServerCore } from "../../core.js";
import type { PostgresJobStore } from "./postgres-job-store.js";

function refuse(what: string): () => never {
  return () => {
    throw new UnimplementedError(`unsupported: ${what} is not yet supported by the PostgreSQL store`);
  };
}

export function refuseInProcessFeatures(core: ServerCore, store: PostgresJobStore): void {
  // Instance properties shadow the prototype methods of this core's objects only.
  Object.assign(core.store.workflows, { create: refuse("workflows") });
  // Cron and schemas registered through the API are kept in the database (cron-mirror.ts, schema-mirror.ts).
  store.attachRegistries(core.cron, core.schemas);
}
