/**
 * A private PostgreSQL cluster for one test file: started before its tests,
 * stopped after them (what the file opened on it closed first), and every test
 * skipped with the reason where the PostgreSQL binaries are missing.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import { postgresSkipReason, startPostgres, type PostgresCluster } from "./postgres.js";

export interface FilePostgres {
  /** Why the file's tests are skipped, when they are. */
  readonly skip: string | undefined;
  /** The running cluster (inside a test or a hook after the file's beforeAll). */
  readonly cluster: PostgresCluster;
  /** Closes `c` when the file is done, before the cluster stops. */
  closeAtEnd<T extends { close(): Promise<void> }>(c: T): T;
}

export function usePrivatePostgres(): FilePostgres {
  const skip = postgresSkipReason();
  let cluster: PostgresCluster | undefined;
  const toClose: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    if (!skip) cluster = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const c of toClose) await c.close();
    await cluster?.stop();
  });
  beforeEach((ctx) => {
    if (skip) ctx.skip(skip);
  });
  return {
    skip,
    get cluster() {
      if (!cluster) throw new Error("the private PostgreSQL cluster is not running");
      return cluster;
    },
    closeAtEnd(c) {
      toClose.push(c);
      return c;
    },
  };
}
