/**
 * What PostgreSQL did during one section of a bench (`npx tsx bench/postgres.ts --statements`):
 * the statements it ran (pg_stat_statements: calls, execution time, rows,
 * buffers, WAL), the transactions that wrote (transaction ids) and the WAL
 * bytes (WAL position), each divided by the section's operations (enqueues,
 * drained jobs). The cluster must preload the extension: start it with
 * STATEMENT_SETTINGS. Profiling only: the extension costs a little CPU itself.
 */
import type { Sql } from "postgres";

export const STATEMENT_SETTINGS = ["shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.track = all"];

interface StatementRow {
  query: string;
  calls: string;
  total_exec_time: number;
  rows: string;
  shared_blks_hit: string;
  wal_bytes: string;
}

/** Counters read exactly at the moment (the cumulative statistics of other backends lag by seconds). */
interface Totals {
  /** The next transaction id: its growth counts the transactions that wrote (each commit of those waits for a WAL flush). */
  nextXid: bigint;
  /** The WAL insert position, in bytes. */
  walLsn: bigint;
}

async function totals(sql: Sql): Promise<Totals> {
  const [r] = await sql<{ xid: string; lsn: string }[]>`
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text AS lsn`;
  return { nextXid: BigInt(r!.xid), walLsn: BigInt(r!.lsn.replace(/\..*$/, "")) };
}

/** One section: begin() before it, end(ops) after it; end answers the report's lines. */
export class StatementProfile {
  private before: Totals | undefined;

  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<StatementProfile> {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    return new StatementProfile(sql);
  }

  async begin(): Promise<void> {
    await this.sql`SELECT pg_stat_statements_reset()`;
    this.before = await totals(this.sql);
  }

  async end(section: string, ops: number): Promise<string[]> {
    const after = await totals(this.sql);
    const b = this.before!;
    const per = (v: number) => (v / ops).toFixed(2);
    const rows = await this.sql<StatementRow[]>`
      SELECT query, calls, total_exec_time, rows, shared_blks_hit, wal_bytes FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND query NOT LIKE '%pg_stat%'
      ORDER BY total_exec_time DESC LIMIT 10`;
    const lines = [
      `### ${section}: per operation (${ops} operations)`,
      "",
      `transactions that wrote (each commit waits for a WAL flush): ${per(Number(after.nextXid - b.nextXid))}, WAL bytes: ${per(Number(after.walLsn - b.walLsn))}`,
      "",
      "| calls/op | exec µs/op | µs/call | rows/call | buffers/call | WAL bytes/op | statement |",
      "|---:|---:|---:|---:|---:|---:|---|",
    ];
    for (const r of rows) {
      const calls = Number(r.calls);
      const text = r.query.replace(/\s+/g, " ").slice(0, 110).replace(/\|/g, "\\|");
      lines.push(
        `| ${per(calls)} | ${((r.total_exec_time * 1000) / ops).toFixed(1)} | ${((r.total_exec_time * 1000) / calls).toFixed(1)} | ` +
          `${(Number(r.rows) / calls).toFixed(1)} | ${(Number(r.shared_blks_hit) / calls).toFixed(0)} | ${per(Number(r.wal_bytes))} | \`${text}\` |`,
      );
    }
    lines.push("");
    return lines;
  }
}
